package desk

import "time"

// The console's view of the desk: what an agent's or supervisor's console
// shows. agentui sends these as JSON frames (docs/protocol.md), so the
// field tags are the protocol's.

// Agent availability states.
const (
	StateAvailable = "available"
	StateAway      = "away"
	StateOffline   = "offline"
)

// Message kinds.
const (
	KindCustomer = "customer"
	KindAgent    = "agent"
	KindNote     = "note"
	KindSystem   = "system"
)

// Delivery statuses of an agent's reply.
const (
	StatusQueued    = "queued"
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// AgentState is an agent's availability.
type AgentState struct {
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
}

// CustomerRef names a customer in lists and offers.
type CustomerRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Offer is a conversation offered to the agent until Deadline.
type Offer struct {
	ConversationID string      `json:"conv"`
	Channel        string      `json:"channel"`
	Queue          string      `json:"queue"`
	Customer       CustomerRef `json:"customer"`
	// Preview is the start of the customer's last message.
	Preview   string    `json:"preview"`
	OfferedAt time.Time `json:"offered_at"`
	Deadline  time.Time `json:"deadline"`
	// Recovery is set when the customer is in service recovery.
	Recovery *RecoveryBanner `json:"recovery,omitempty"`
	// Earlier are the caller's latest other conversations on any channel,
	// on voice offers only (a call has no message to preview).
	Earlier []PastContact `json:"earlier,omitempty"`
}

// Conversation is one conversation assigned to the agent.
type Conversation struct {
	ID       string      `json:"id"`
	Channel  string      `json:"channel"`
	Queue    string      `json:"queue"`
	Customer CustomerRef `json:"customer"`
	// State is "active" or "closed" (closed by the customer, still shown
	// until the agent closes it with a disposition).
	State  string `json:"state"`
	Unread int    `json:"unread"`
	// LastMessageID is the transcript's newest id, so a console can tell
	// whether it is missing messages.
	LastMessageID string    `json:"last_message_id,omitempty"`
	LastText      string    `json:"last_text,omitempty"`
	UpdatedAt     time.Time `json:"updated_at"`
	// Recovery is set when the customer is in service recovery (for an
	// earlier conversation): the console shows it as a banner.
	Recovery *RecoveryBanner `json:"recovery,omitempty"`
}

// Snapshot is the console's whole state for one agent.
type Snapshot struct {
	Agent         Actor          `json:"agent"`
	State         AgentState     `json:"state"`
	Offers        []Offer        `json:"offers"`
	Conversations []Conversation `json:"conversations"`
}

// Message is one transcript entry. IDs are the transcript stream's ids and
// order the messages; a console resumes after the last one it saw.
type Message struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conv"`
	Kind           string    `json:"kind"`
	Author         string    `json:"author"`
	Text           string    `json:"text"`
	At             time.Time `json:"at"`
	// Status and Error describe delivery of an agent reply; empty otherwise.
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// Attachments are the files of the entry, in the order sent.
	Attachments []MessageFile `json:"attachments,omitempty"`
	// Truncated says Text was cut to fit one frame; the whole entry is in
	// the REST transcript (GET /api/v1/conversations/{id}/messages).
	Truncated bool `json:"truncated,omitempty"`
}

// MessageFile is one file of a message as the console shows it. Path is
// the attachment store's key, fetched (by a signed-in person who may see
// the conversation) at /api/v1/attachments/{path}; empty for a provider's
// file we hold no copy of, which is then listed by name only.
type MessageFile struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Path        string `json:"path,omitempty"`
}

// TranscriptPage is up to a limit of transcript entries after a cursor, as
// the console shows them.
type TranscriptPage struct {
	Messages []Message
	// Next is the id of the last entry read, the cursor of the next page:
	// delivery-status entries are read but not shown, so it may be past
	// the last message. The cursor given when nothing was read.
	Next string
	// More is set when the page is full: more entries may follow.
	More bool
}

// CustomerView is the customer panel.
type CustomerView struct {
	ID   string   `json:"id"`
	Name string   `json:"name"`
	Tags []string `json:"tags"`
	// Addresses are the ways we know the customer, e.g. {"sms", "+4670..."}.
	Addresses []Address `json:"addresses"`
	// Fields are free profile fields (company, plan, ...), shown as listed.
	Fields  []Field       `json:"fields"`
	History []PastContact `json:"history"`
}

// Address is one channel address of a customer.
type Address struct {
	Channel string `json:"channel"`
	Value   string `json:"value"`
}

// Field is one labelled profile value.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// PastContact is an earlier conversation of the customer, on any channel.
type PastContact struct {
	ConversationID string    `json:"conv"`
	Channel        string    `json:"channel"`
	Agent          string    `json:"agent"`
	Disposition    string    `json:"disposition"`
	Summary        string    `json:"summary"`
	StartedAt      time.Time `json:"started_at"`
	ClosedAt       time.Time `json:"closed_at"`
}

// AgentSummary is one transfer target.
type AgentSummary struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
}

// Canned is a saved reply.
type Canned struct {
	Shortcut string `json:"shortcut"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}
