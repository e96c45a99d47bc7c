package conversation

import (
	"context"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// Router is what the service needs from routing. It is declared here, not
// imported, so this package does not depend on the routing engine; the
// application wiring adapts the engine to it. Every method must be
// idempotent: the service calls Enqueue again for a conversation whose first
// Enqueue failed or whose outcome was lost in a crash.
type Router interface {
	// Enqueue puts a new conversation in its queue.
	Enqueue(ctx context.Context, req RouteRequest) error
	// Abandon takes a waiting conversation out of routing (the caller hung
	// up, the visitor left).
	Abandon(ctx context.Context, conversationID string) error
	// Close ends an agent's work on a conversation and frees the capacity.
	// With no agent, a conversation still waiting or offered is taken out
	// of the queue as the customer's abandon: only the customer ending it
	// closes for nobody. Staff closing one from the queue go through the
	// desk, which tells routing they closed it.
	Close(ctx context.Context, conversationID, agentID string) error
	// Transfer moves a conversation to another queue or agent.
	Transfer(ctx context.Context, req TransferRequest) error
}

// RouteRequest is everything routing needs to queue a conversation.
type RouteRequest struct {
	ConversationID string
	Queue          string
	Channel        channel.Name
	CustomerID     string
	// Priority is the route's base priority (of our address); routing adds
	// its queue's returning and VIP boosts; higher is served first.
	Priority   int
	Skills     []string
	EnqueuedAt time.Time
	// Returning is set when the customer had earlier conversations.
	Returning bool
	// VIP is set when the customer carries VIPTag.
	VIP bool
	// LastAgentID served the customer last, at LastServedAt; routing may
	// prefer them within its sticky window. Empty when nobody has.
	LastAgentID  string
	LastServedAt time.Time
	// Tags are the customer's tags when the conversation was stored, read
	// with it: a Router whose rules depend on one (service recovery) asks
	// further only for customers who carry it.
	Tags []string
}

// TransferRequest asks routing to move a conversation. ToAgentID empty
// means "to the queue".
type TransferRequest struct {
	ConversationID string
	FromAgentID    string
	ToQueue        string
	ToAgentID      string
}

// Notifier is told about every entry appended to a transcript, after it is
// stored, so the realtime hub can push it. Notify must not block for long;
// a lost notification is harmless because clients resume from entry ids.
type Notifier interface {
	Notify(ctx context.Context, conversationID string, e Entry)
}
