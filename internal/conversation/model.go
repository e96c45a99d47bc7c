package conversation

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// State is where a conversation is in its life.
type State string

// Conversation states. Closed and abandoned are final.
const (
	StateQueued    State = "queued"
	StateOffered   State = "offered"
	StateActive    State = "active"
	StateClosed    State = "closed"
	StateAbandoned State = "abandoned"
)

// Conversation is the record of one conversation. Timestamps are zero until
// the moment they name has happened.
type Conversation struct {
	ID              string       `json:"id"`
	Channel         channel.Name `json:"channel"`
	CustomerID      string       `json:"customer_id"`
	CustomerAddress string       `json:"customer_address"`
	OurAddress      string       `json:"our_address"`
	Queue           string       `json:"queue"`
	State           State        `json:"state"`
	AgentID         string       `json:"agent_id,omitempty"`
	ThreadHint      string       `json:"thread_hint,omitempty"`
	Skills          []string     `json:"skills,omitempty"`
	Returning       bool         `json:"returning"`
	Routed          bool         `json:"routed"`
	MessageCount    int          `json:"message_count"`
	Disposition     string       `json:"disposition,omitempty"`
	// ClosedFrom is where routing had a conversation staff closed before
	// anyone served it (waiting, offered); empty for every other close.
	ClosedFrom     CloseFrom `json:"closed_from,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	EnqueuedAt     time.Time `json:"enqueued_at"`
	FirstOfferedAt time.Time `json:"first_offered_at,omitzero"`
	AnsweredAt     time.Time `json:"answered_at,omitzero"`
	FirstReplyAt   time.Time `json:"first_reply_at,omitzero"`
	ClosedAt       time.Time `json:"closed_at,omitzero"`
	LastMessageAt  time.Time `json:"last_message_at,omitzero"`
	// UpdatedAt is the last change of the record: a message, a reply or
	// note, a routing event, a merge.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Open reports whether the conversation still takes messages.
func (c Conversation) Open() bool { return c.State != StateClosed && c.State != StateAbandoned }

func convFromHash(h map[string]string) Conversation {
	n, _ := strconv.Atoi(h["message_count"])
	c := Conversation{
		ID:              h["id"],
		Channel:         channel.Name(h["channel"]),
		CustomerID:      h["customer"],
		CustomerAddress: h["customer_address"],
		OurAddress:      h["our_address"],
		Queue:           h["queue"],
		State:           State(h["state"]),
		AgentID:         h["agent"],
		ThreadHint:      h["thread_hint"],
		Returning:       h["returning"] == "1",
		Routed:          h["routed"] == "1",
		MessageCount:    n,
		Disposition:     h["disposition"],
		ClosedFrom:      CloseFrom(h["closed_from"]),
		CreatedAt:       fromMS(h["created_at"]),
		EnqueuedAt:      fromMS(h["enqueued_at"]),
		FirstOfferedAt:  fromMS(h["first_offered_at"]),
		AnsweredAt:      fromMS(h["answered_at"]),
		FirstReplyAt:    fromMS(h["first_reply_at"]),
		ClosedAt:        fromMS(h["closed_at"]),
		LastMessageAt:   fromMS(h["last_message_at"]),
		UpdatedAt:       fromMS(h["updated_at"]),
	}
	if h["skills"] != "" {
		c.Skills = strings.Split(h["skills"], ",")
	}
	return c
}

// EntryType is the kind of a transcript entry.
type EntryType string

// Transcript entry types.
const (
	// EntryCustomer is a message from the customer.
	EntryCustomer EntryType = "customer"
	// EntryAgent is a reply sent (or being sent) to the customer.
	EntryAgent EntryType = "agent"
	// EntryNote is an internal note; customers never see it.
	EntryNote EntryType = "note"
	// EntrySystem is an event: offered, accepted, transferred, closed…
	EntrySystem EntryType = "system"
	// EntryStatus is a send or delivery status of an agent reply; MessageID
	// names the reply.
	EntryStatus EntryType = "status"
)

// Entry is one transcript entry. ID is the stream id: clients resume from
// the last ID they saw.
type Entry struct {
	ID          string               `json:"id"`
	Type        EntryType            `json:"type"`
	MessageID   string               `json:"message_id,omitempty"`
	Author      string               `json:"author,omitempty"`
	Channel     channel.Name         `json:"channel,omitempty"`
	Text        string               `json:"text,omitempty"`
	Attachments []channel.Attachment `json:"attachments,omitempty"`
	ProviderID  string               `json:"provider_id,omitempty"`
	// Event names a system event (offered, accepted, transferred, closed,
	// abandoned, enqueued).
	Event string `json:"event,omitempty"`
	// AgentID is the agent a system event concerns.
	AgentID string `json:"agent_id,omitempty"`
	// Queue is the queue a system event concerns (transfers).
	Queue string `json:"queue,omitempty"`
	// Status is a reply's status (status entries, and "pending" on the reply).
	Status string `json:"status,omitempty"`
	// ReplyEntryID is, on a status entry handed to the Notifier, the
	// transcript entry id of the reply it is about (consoles know replies by
	// it), read with the status so nobody looks the message up again. Not
	// stored with the entry: "" when read back from the transcript.
	ReplyEntryID string `json:"-"`
	// Record is, on a system line handed to the Notifier by the script that
	// changed the record (a close, an abandon, a transfer), the record as
	// that change left it, so the Notifier need not read it again. Nil when
	// read back from the transcript.
	Record *Conversation `json:"-"`
	// Customer is, on a customer message handed to the Notifier by
	// Receive, what the receiving script read of its author for a console
	// to name them without a read: ID and Name, and Identities when there
	// is no name. Tags are there only when the message opened or reopened
	// the conversation. Nil when read back.
	Customer *Customer `json:"-"`
	// ParkedOnce is, on a customer message handed to the Notifier, true
	// when a pending promise parked the conversation at some time
	// (MarkParked): only then can one be waiting for the customer to
	// write. False when read back.
	ParkedOnce bool      `json:"-"`
	ErrorCode  string    `json:"error_code,omitempty"`
	ErrorText  string    `json:"error_text,omitempty"`
	Attempt    int       `json:"attempt,omitempty"`
	At         time.Time `json:"at"`
}

func entryFromStream(id string, v map[string]any) Entry {
	str := func(k string) string { s, _ := v[k].(string); return s }
	var attempt int
	if a := str("attempt"); a != "" { // most entries have none; a failed parse allocates
		attempt, _ = strconv.Atoi(a)
	}
	e := Entry{
		ID:         id,
		Type:       EntryType(str("type")),
		MessageID:  str("id"),
		Author:     str("author"),
		Channel:    channel.Name(str("channel")),
		Text:       str("text"),
		ProviderID: str("provider_id"),
		Event:      str("event"),
		AgentID:    str("agent"),
		Queue:      str("queue"),
		Status:     str("status"),
		ErrorCode:  str("error_code"),
		ErrorText:  str("error_text"),
		Attempt:    attempt,
		At:         fromMS(str("at")),
	}
	if a := str("attachments"); a != "" {
		_ = json.Unmarshal([]byte(a), &e.Attachments)
	}
	return e
}

// Customer is one person, however many addresses they write from.
type Customer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Identities are "<kind>:<address>": "phone:+14155550100" (SMS and
	// voice), "email:bo@example.com", "chat:<visitor id>".
	Identities  []string  `json:"identities"`
	Tags        []string  `json:"tags"`
	Notes       string    `json:"notes"`
	LastAgentID string    `json:"last_agent_id,omitempty"`
	LastAgentAt time.Time `json:"last_agent_at,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
}

// Message is an agent reply with its send and delivery state.
type Message struct {
	ID string `json:"id"`
	// EntryID is the reply's transcript entry id.
	EntryID        string               `json:"entry_id,omitempty"`
	ConversationID string               `json:"conversation_id"`
	Channel        channel.Name         `json:"channel"`
	AgentID        string               `json:"agent_id"`
	Text           string               `json:"text"`
	Attachments    []channel.Attachment `json:"attachments,omitempty"`
	// Status is pending (in the outbox), sending, retrying, failed, or the
	// provider's word (queued, sent, delivered, undelivered, read…) once it
	// has taken the message.
	Status string `json:"status"`
	// Attempts counts sends the provider tried; Deferrals counts those it
	// turned away as busy, which were put off and not counted.
	Attempts   int       `json:"attempts"`
	Deferrals  int       `json:"deferrals,omitempty"`
	ProviderID string    `json:"provider_id,omitempty"`
	ErrorCode  string    `json:"error_code,omitempty"`
	ErrorText  string    `json:"error_text,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	SentAt     time.Time `json:"sent_at,omitzero"`
}

// statusRank orders delivery statuses so that late callbacks never move a
// message backwards. Unknown words rank between sent and delivered: they
// are reported, and delivered or a failure still replaces them.
func statusRank(status string) int {
	switch strings.ToLower(status) {
	case "accepted", "scheduled", "queued":
		return 1
	case "sending":
		return 2
	case "sent":
		return 3
	case "delivered":
		return 5
	case "read":
		return 6
	case "undelivered", "failed", "canceled":
		return 9
	default:
		return 4
	}
}
