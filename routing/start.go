package routing

import (
	"context"
	"fmt"
	"slices"
)

// StartRequest is a conversation an agent starts to a customer.
type StartRequest struct {
	// ConversationID identifies the conversation; required.
	ConversationID string
	// Queue it belongs to (for figures, transfers and the wrap-up time);
	// "" means the first configured queue.
	Queue string
	// Channel is one of channel.All, served by the queue; required.
	Channel string
	// CustomerID is recorded with the conversation and its event.
	CustomerID string
	// AgentID holds the conversation from the start; required.
	AgentID string
}

// Start makes a conversation an agent starts active with that agent at
// once, taking a slot of the agent's capacity on the channel as an accepted
// offer does, and records EventStarted. The agent need not be available
// for offers (reaching out is their own choice), only have room:
// ErrAgentUnavailable when the channel is full or the agent is on a call.
// Starting the same conversation for the same agent again succeeds and
// changes nothing, so a retry after a lost answer is safe; ErrExists when
// it is live otherwise.
func (e *Engine) Start(ctx context.Context, r StartRequest) error {
	if r.ConversationID == "" || r.AgentID == "" {
		return fmt.Errorf("routing: start: conversation and agent ids: %w", ErrInvalid)
	}
	if r.Queue == "" {
		r.Queue = e.order[0]
	}
	q, ok := e.queues[r.Queue]
	if !ok {
		return fmt.Errorf("routing: start %s: queue %q: %w", r.ConversationID, r.Queue, ErrUnknownQueue)
	}
	if !slices.Contains(channels, r.Channel) || !q.Serves(r.Channel) {
		return fmt.Errorf("routing: start %s: channel %q in queue %s: %w", r.ConversationID, r.Channel, r.Queue, ErrUnknownChannel)
	}
	if _, err := e.call(ctx, e.s.start, []string{e.k.conv(r.ConversationID)},
		r.ConversationID, r.Queue, r.Channel, r.CustomerID, r.AgentID); err != nil {
		return fmt.Errorf("routing: start %s for %s: %w", r.ConversationID, r.AgentID, err)
	}
	return nil
}
