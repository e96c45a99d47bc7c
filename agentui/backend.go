package agentui

import (
	"context"
	"errors"

	"github.com/switchboard/switchboard/internal/desk"
)

// Backend is what the console needs from the core: the desk
// (internal/desk), which decides who may see and do what. who is always
// the authenticated account of the console's connection; the desk refuses
// (desk.ErrNotFound, desk.ErrForbidden) any conversation who may not see or act on,
// because the websocket passes conversation ids from the browser straight
// through. NewDeskBackend adapts the desk; the package's own tests use a
// fake.
type Backend interface {
	// Snapshot returns everything a console shows after (re)connecting.
	Snapshot(ctx context.Context, who desk.Actor) (desk.Snapshot, error)
	// SetState changes the agent's availability; reason is kept only for
	// StateAway.
	SetState(ctx context.Context, who desk.Actor, state, reason string) error
	// Heartbeat records that the agent's console is alive. Presence comes
	// from heartbeats with a grace period, not from the socket, so a
	// reconnect does not make an agent flap offline.
	Heartbeat(ctx context.Context, who desk.Actor) error
	// Accept takes an open offer; ErrOfferGone when it lapsed or was taken.
	Accept(ctx context.Context, who desk.Actor, convID string) error
	// Decline hands an offer back to routing.
	Decline(ctx context.Context, who desk.Actor, convID string) error
	// Reply sends text to the customer on the conversation's channel and
	// returns the message as stored (usually with StatusQueued).
	Reply(ctx context.Context, who desk.Actor, convID, text string) (desk.Message, error)
	// Note adds an internal note the customer never sees.
	Note(ctx context.Context, who desk.Actor, convID, text string) (desk.Message, error)
	// Close ends the conversation with a disposition (e.g. "resolved").
	Close(ctx context.Context, who desk.Actor, convID, disposition string) error
	// Transfer moves the conversation to a queue or, when toAgent is set,
	// to that agent.
	Transfer(ctx context.Context, who desk.Actor, convID, queue, toAgent string) error
	// Typing tells the customer's side that the agent is (on) or stopped
	// (off) typing. Channels without typing indicators ignore it.
	Typing(ctx context.Context, who desk.Actor, convID string, on bool) error
	// Transcript returns up to limit transcript entries after afterID
	// ("" from the start), oldest first, as messages, with the cursor of
	// the next page.
	Transcript(ctx context.Context, who desk.Actor, convID, afterID string, limit int) (desk.TranscriptPage, error)
	// Customer returns the customer of the conversation with their earlier
	// conversations on every channel.
	Customer(ctx context.Context, who desk.Actor, convID string) (desk.CustomerView, error)
	// Queues lists the queues a conversation can be transferred to.
	Queues(ctx context.Context) ([]string, error)
	// Agents lists the agents a conversation can be transferred to.
	Agents(ctx context.Context) ([]desk.AgentSummary, error)
	// CannedReplies lists the saved replies offered by the "/" search.
	CannedReplies(ctx context.Context) ([]desk.Canned, error)
}

// RecoveryNoter is implemented by Backends with service recovery: the
// agent records what was done for a customer whose banner shows; the ack
// carries the updated banner.
type RecoveryNoter interface {
	RecoveryNote(ctx context.Context, who desk.Actor, convID, text string) (*desk.RecoveryBanner, error)
}

// ErrUnauthenticated is what Config.Authenticate wraps for a request with
// no valid session or token (answered 401: sign in again). Any other error
// means the check could not be made, e.g. Redis is down, and is answered
// 503 so the console keeps its session and retries.
var ErrUnauthenticated = errors.New("agentui: not authenticated")
