package agentui

import (
	"context"
	"errors"

	"github.com/switchboard/switchboard/internal/desk"
)

// Backend is what the console needs from the core: the desk
// (internal/desk), which decides who may see and do what. who is always
// the authenticated account of the console's connection; the desk refuses
// (ErrNotFound, ErrForbidden) any conversation who may not see or act on,
// because the websocket passes conversation ids from the browser straight
// through. NewDeskBackend adapts the desk; the package's own tests use a
// fake.
type Backend interface {
	// Snapshot returns everything a console shows after (re)connecting.
	Snapshot(ctx context.Context, who Principal) (Snapshot, error)
	// SetState changes the agent's availability; reason is kept only for
	// StateAway.
	SetState(ctx context.Context, who Principal, state, reason string) error
	// Heartbeat records that the agent's console is alive. Presence comes
	// from heartbeats with a grace period, not from the socket, so a
	// reconnect does not make an agent flap offline.
	Heartbeat(ctx context.Context, who Principal) error
	// Accept takes an open offer; ErrOfferGone when it lapsed or was taken.
	Accept(ctx context.Context, who Principal, convID string) error
	// Decline hands an offer back to routing.
	Decline(ctx context.Context, who Principal, convID string) error
	// Reply sends text to the customer on the conversation's channel and
	// returns the message as stored (usually with StatusQueued).
	Reply(ctx context.Context, who Principal, convID, text string) (Message, error)
	// Note adds an internal note the customer never sees.
	Note(ctx context.Context, who Principal, convID, text string) (Message, error)
	// Close ends the conversation with a disposition (e.g. "resolved").
	Close(ctx context.Context, who Principal, convID, disposition string) error
	// Transfer moves the conversation to a queue or, when toAgent is set,
	// to that agent.
	Transfer(ctx context.Context, who Principal, convID, queue, toAgent string) error
	// Typing tells the customer's side that the agent is (on) or stopped
	// (off) typing. Channels without typing indicators ignore it.
	Typing(ctx context.Context, who Principal, convID string, on bool) error
	// Transcript returns up to limit transcript entries after afterID
	// ("" from the start), oldest first, as messages, with the cursor of
	// the next page.
	Transcript(ctx context.Context, who Principal, convID, afterID string, limit int) (TranscriptPage, error)
	// Customer returns the customer of the conversation with their earlier
	// conversations on every channel.
	Customer(ctx context.Context, who Principal, convID string) (CustomerView, error)
	// Queues lists the queues a conversation can be transferred to.
	Queues(ctx context.Context) ([]string, error)
	// Agents lists the agents a conversation can be transferred to.
	Agents(ctx context.Context) ([]AgentSummary, error)
	// CannedReplies lists the saved replies offered by the "/" search.
	CannedReplies(ctx context.Context) ([]Canned, error)
}

// RecoveryNoter is implemented by Backends with service recovery: the
// agent records what was done for a customer whose banner shows; the ack
// carries the updated banner.
type RecoveryNoter interface {
	RecoveryNote(ctx context.Context, who Principal, convID, text string) (*desk.RecoveryBanner, error)
}

// Errors a Backend returns for conditions the console tells apart: the
// desk's. The handler matches them with errors.Is and sends their code in
// the ack (classify, the one mapping).
var (
	// ErrForbidden: the agent sees the conversation but may not do this now.
	ErrForbidden = desk.ErrForbidden
	// ErrNotFound: no such conversation, queue or agent, or one the agent
	// may not see.
	ErrNotFound = desk.ErrNotFound
	// ErrOfferGone: the offer lapsed, was declined or went to someone else.
	ErrOfferGone = desk.ErrOfferGone
	// ErrClosed: the conversation is already closed.
	ErrClosed = desk.ErrClosed
	// ErrInvalid: a state, disposition or text the core refuses.
	ErrInvalid = desk.ErrInvalid
)

// ErrUnauthenticated is what Config.Authenticate wraps for a request with
// no valid session or token (answered 401: sign in again). Any other error
// means the check could not be made, e.g. Redis is down, and is answered
// 503 so the console keeps its session and retries.
var ErrUnauthenticated = errors.New("agentui: not authenticated")

// Agent availability states.
const (
	StateAvailable = desk.StateAvailable
	StateAway      = desk.StateAway
	StateOffline   = desk.StateOffline
)

// Message kinds.
const (
	KindCustomer = desk.KindCustomer
	KindAgent    = desk.KindAgent
	KindNote     = desk.KindNote
	KindSystem   = desk.KindSystem
)

// Delivery statuses of an agent's reply.
const (
	StatusQueued    = desk.StatusQueued
	StatusSent      = desk.StatusSent
	StatusDelivered = desk.StatusDelivered
	StatusFailed    = desk.StatusFailed
)

// The console's views are the desk's; the protocol (docs/protocol.md)
// sends them as JSON.
type (
	// Principal is the authenticated account behind a console connection.
	Principal = desk.Actor
	// AgentState is an agent's availability.
	AgentState = desk.AgentState
	// CustomerRef names a customer in lists and offers.
	CustomerRef = desk.CustomerRef
	// Offer is a conversation offered to the agent until Deadline.
	Offer = desk.Offer
	// Conversation is one conversation assigned to the agent.
	Conversation = desk.Conversation
	// Snapshot is the console's whole state for one agent.
	Snapshot = desk.Snapshot
	// Message is one transcript entry.
	Message = desk.Message
	// TranscriptPage is one page of a transcript.
	TranscriptPage = desk.TranscriptPage
	// CustomerView is the customer panel.
	CustomerView = desk.CustomerView
	// Address is one channel address of a customer.
	Address = desk.Address
	// Field is one labelled profile value.
	Field = desk.Field
	// PastContact is an earlier conversation of the customer.
	PastContact = desk.PastContact
	// AgentSummary is one transfer target.
	AgentSummary = desk.AgentSummary
	// Canned is a saved reply.
	Canned = desk.Canned
)
