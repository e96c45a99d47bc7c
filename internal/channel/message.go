package channel

import (
	"errors"
	"time"
)

// Attachment is a file a message carries. Inbound media from a provider may
// be kept by reference only (URL set, StoredPath empty).
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// URL is where the provider serves the file (Twilio MediaUrlN); it may
	// need the account's credentials to fetch.
	URL string `json:"url,omitempty"`
	// StoredPath is the file's key in the attachment store once we hold a
	// copy; agents fetch it through an authenticated link.
	StoredPath string `json:"stored_path,omitempty"`
}

// Inbound is one message from a customer, normalized by a channel adapter.
// It is the only thing a channel hands the core.
type Inbound struct {
	Channel Name
	// From is the customer's address: E.164 phone number, lower-cased email
	// address, or chat visitor id.
	From string
	// To is our address the customer wrote to: a Twilio number, a mailbox,
	// a chat queue. It selects the queue (Channel.Addresses).
	To string
	// Name is the customer's display name when the channel knows it (email
	// From header, chat pre-chat form).
	Name        string
	Text        string
	Attachments []Attachment
	// ProviderID is the provider's id for this delivery (MessageSid, CallSid,
	// Message-ID, chat frame id). A second Inbound with the same channel and
	// ProviderID is a duplicate and is acknowledged without being stored.
	ProviderID string
	// ThreadHint ties the message to an earlier one: In-Reply-To/References,
	// a call SID, a chat session. Empty means "the customer's open
	// conversation on this channel, if any".
	ThreadHint string
	ReceivedAt time.Time
}

// Receipt tells a channel what became of an Inbound.
type Receipt struct {
	ConversationID string
	MessageID      string
	CustomerID     string
	// Duplicate is set when the provider id had been seen; nothing was stored.
	Duplicate bool
	// NewConversation is set when the message opened a conversation (and so
	// it was enqueued); channels send their first acknowledgement then.
	NewConversation bool
	// Returning is set when the customer had earlier conversations.
	Returning bool
	// OptOut is whether the customer had opted out of the channel (texted
	// STOP) when the message was stored, read in the same step; a channel
	// sends them no automatic reply then.
	OptOut OptOut
}

// OptOut is what the core read of a customer's opt-out of a channel along
// with a step it took anyway (storing a message, claiming a reply), so a
// channel that honours opt-outs need not ask again: a round trip for every
// message otherwise. The zero value, OptOutUnread, means nobody read it
// and the channel reads it itself.
type OptOut uint8

// OptOut values.
const (
	OptOutUnread OptOut = iota
	OptOutNo
	OptOutYes
)

// Outbound is an agent's reply on its way to a customer.
type Outbound struct {
	ConversationID string
	MessageID      string
	Channel        Name
	// From is our address (the number or mailbox the customer wrote to).
	From string
	// To is the customer's address.
	To          string
	Text        string
	Attachments []Attachment
	// ThreadHint is what the channel needs to keep the reply in the
	// customer's thread (the Message-ID being answered, the chat session).
	ThreadHint string
	// Subject is the subject of a conversation we start, on channels that
	// have one (email). Empty for replies, which keep their thread's.
	Subject string
	// Attempt counts sends of this message, from 1, so a channel can pass an
	// idempotency key to providers that accept one.
	Attempt int
	// OptOut is whether the customer had opted out of the channel when the
	// outbox claimed this send, read by the claim.
	OptOut OptOut
}

// SendResult is what a channel learned from a successful send.
type SendResult struct {
	// ProviderID identifies the sent message at the provider (Twilio
	// MessageSid, SMTP Message-ID); delivery status updates name it.
	ProviderID string
	// Status is the provider's first status, e.g. "queued" or "sent".
	Status string
}

// ErrTemporary marks a send failure worth retrying (HTTP 429 and 5xx, a
// dropped connection). Senders wrap it: fmt.Errorf("twilio 503: %w",
// ErrTemporary). Any other error is permanent and is recorded on the message.
var ErrTemporary = errors.New("temporary failure")

// BusyError is a send the provider or the channel turned away unsent
// because it was busy: HTTP 429 from an API's concurrency limit, every
// connection of a mailbox in use. The outbox tries such a message again
// later without counting an attempt, so a burst of replies does not use up
// their attempts on a rate limit; a message busy for longer than the
// outbox's MaxBusyWait counts attempts again. It is also ErrTemporary, so
// callers that know only that retry it as before.
type BusyError struct {
	// RetryAfter is when to try again, when the provider said; zero lets
	// the outbox choose.
	RetryAfter time.Duration
	// Reason says who was busy, for logs and the message's error text.
	Reason string
}

func (e *BusyError) Error() string { return "busy, try later: " + e.Reason }

// Is makes a BusyError an ErrTemporary.
func (e *BusyError) Is(target error) bool { return target == ErrTemporary }

// PermanentError is a send failure the provider explained; its code and
// text are kept on the message and shown to the agent.
type PermanentError struct {
	Code    string // provider error code, e.g. Twilio's "21610"
	Message string
}

func (e *PermanentError) Error() string {
	return "permanent send failure " + e.Code + ": " + e.Message
}

// DeliveryStatus is a provider's later report on a sent message.
type DeliveryStatus struct {
	Channel    Name
	ProviderID string
	// Status is the provider's word: sent, delivered, undelivered, failed, read…
	Status    string
	ErrorCode string
	ErrorText string
	At        time.Time
}
