package agentui

import (
	"context"
	"errors"
	"time"
)

// Backend is what the console needs from the core. The wiring implements it
// on top of routing and the conversation service. agentID is always the
// authenticated account of the console's connection; an implementation must
// refuse, with ErrForbidden, any conversation that is neither offered nor
// assigned to that agent (supervisors and admins excepted), because the
// websocket passes conversation ids from the browser straight through.
type Backend interface {
	// Snapshot returns everything a console shows after (re)connecting.
	Snapshot(ctx context.Context, agentID string) (Snapshot, error)
	// SetState changes the agent's availability; reason is kept only for
	// StateAway.
	SetState(ctx context.Context, agentID, state, reason string) error
	// Heartbeat records that the agent's console is alive. Presence comes
	// from heartbeats with a grace period, not from the socket, so a
	// reconnect does not make an agent flap offline.
	Heartbeat(ctx context.Context, agentID string) error
	// Accept takes an open offer; ErrOfferGone when it lapsed or was taken.
	Accept(ctx context.Context, agentID, convID string) error
	// Decline hands an offer back to routing.
	Decline(ctx context.Context, agentID, convID string) error
	// Reply sends text to the customer on the conversation's channel and
	// returns the message as stored (usually with StatusQueued).
	Reply(ctx context.Context, agentID, convID, text string) (Message, error)
	// Note adds an internal note the customer never sees.
	Note(ctx context.Context, agentID, convID, text string) (Message, error)
	// Close ends the conversation with a disposition (e.g. "resolved").
	Close(ctx context.Context, agentID, convID, disposition string) error
	// Transfer moves the conversation to a queue or, when toAgent is set,
	// to that agent.
	Transfer(ctx context.Context, agentID, convID, queue, toAgent string) error
	// Typing tells the customer's side that the agent is (on) or stopped
	// (off) typing. Channels without typing indicators ignore it.
	Typing(ctx context.Context, agentID, convID string, on bool) error
	// Transcript returns the conversation's messages after afterID (all of
	// them when afterID is ""), oldest first.
	Transcript(ctx context.Context, agentID, convID, afterID string) ([]Message, error)
	// Customer returns the customer of the conversation with their earlier
	// conversations on every channel.
	Customer(ctx context.Context, agentID, convID string) (CustomerView, error)
	// Queues lists the queues a conversation can be transferred to.
	Queues(ctx context.Context) ([]string, error)
	// Agents lists the agents a conversation can be transferred to.
	Agents(ctx context.Context) ([]AgentSummary, error)
	// CannedReplies lists the saved replies offered by the "/" search.
	CannedReplies(ctx context.Context) ([]Canned, error)
}

// Errors a Backend returns for conditions the console tells apart. Wrap
// them; the handler matches with errors.Is and sends their code in the ack.
var (
	// ErrForbidden: the conversation is not offered or assigned to the agent.
	ErrForbidden = errors.New("agentui: forbidden")
	// ErrNotFound: no such conversation, queue or agent.
	ErrNotFound = errors.New("agentui: not found")
	// ErrOfferGone: the offer lapsed, was declined or went to someone else.
	ErrOfferGone = errors.New("agentui: offer no longer open")
	// ErrClosed: the conversation is already closed.
	ErrClosed = errors.New("agentui: conversation closed")
	// ErrInvalid: a state, disposition or text the core refuses.
	ErrInvalid = errors.New("agentui: invalid request")
	// ErrUnauthenticated is what Config.Authenticate wraps for a request
	// with no valid session or token (answered 401: sign in again). Any
	// other error means the check could not be made, e.g. Redis is down,
	// and is answered 503 so the console keeps its session and retries.
	ErrUnauthenticated = errors.New("agentui: not authenticated")
)

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

// Principal is the authenticated account behind a console connection; the
// wiring converts auth's principal into it.
type Principal struct {
	AccountID string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	// Token is set for an API token: not a person, with no agent state
	// and no queue, so the consoles refuse it (403).
	Token bool `json:"-"`
}

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
}

// Snapshot is the console's whole state for one agent.
type Snapshot struct {
	Agent         Principal      `json:"agent"`
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
