package app

import (
	"context"
	"errors"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/routing"
)

// conversationRouter adapts the routing engine to the conversation
// service's Router. Every method is idempotent, as the service requires:
// a conversation routing already holds is not an error.
type conversationRouter struct{ engine *routing.Engine }

func (r conversationRouter) Enqueue(ctx context.Context, req conversation.RouteRequest) error {
	err := r.engine.Enqueue(ctx, routing.Request{
		ConversationID: req.ConversationID,
		Queue:          req.Queue,
		Channel:        string(req.Channel),
		CustomerID:     req.CustomerID,
		Priority:       req.Priority,
		Skills:         req.Skills,
		EnqueuedAt:     req.EnqueuedAt,
		Returning:      req.Returning,
		VIP:            req.VIP,
		LastAgentID:    req.LastAgentID,
		LastServedAt:   req.LastServedAt,
	})
	if errors.Is(err, routing.ErrExists) {
		return nil
	}
	return err
}

func (r conversationRouter) Abandon(ctx context.Context, id string) error {
	return ignoreGone(r.engine.Abandon(ctx, id))
}

func (r conversationRouter) Close(ctx context.Context, id, agentID string) error {
	err := r.engine.Close(ctx, id, agentID)
	if !errors.Is(err, routing.ErrWrongState) && !errors.Is(err, routing.ErrNotAssigned) {
		return ignoreGone(err)
	}
	st, serr := r.engine.Conversation(ctx, id)
	if serr != nil {
		return ignoreGone(serr)
	}
	switch st.State {
	case routing.ConvClosed, routing.ConvAbandoned, routing.ConvWrapUp:
		// Routing let go already: a close repeated after a crash between
		// routing and the conversation record.
		return nil
	case routing.ConvWaiting, routing.ConvOffered:
		// Closed before anyone took it (spam a supervisor closes from the
		// queue): take it out of routing altogether. An agent it is only
		// offered to must accept or decline instead.
		if agentID == "" {
			return ignoreGone(r.engine.Abandon(ctx, id))
		}
	}
	return err
}

func (r conversationRouter) Transfer(ctx context.Context, req conversation.TransferRequest) error {
	return r.engine.Transfer(ctx, req.ConversationID, routing.Target{Queue: req.ToQueue, AgentID: req.ToAgentID})
}

// ignoreGone treats "routing no longer knows it" as done: the conversation
// service calls again after crashes, and the first call may have finished.
func ignoreGone(err error) error {
	if errors.Is(err, routing.ErrNotFound) {
		return nil
	}
	return err
}
