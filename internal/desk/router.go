package desk

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/recovery"
	"github.com/switchboard/switchboard/routing"
)

// Router adapts the routing engine to the conversation service's
// conversation.Router; the wiring builds it first and the service on it.
// Every method is idempotent, as the service requires: a conversation
// routing already holds, or has already let go, is not an error.
type Router struct {
	Engine *routing.Engine
	// Recovery tells which customers carrying the recovery tag are in
	// service recovery: their conversations get the queue's recovery boost, their last agent
	// (whenever they served), else an agent with the recovery skill. Nil:
	// nobody is.
	Recovery interface {
		Active(ctx context.Context, customerID string) (recovery.Case, bool, error)
	}
}

var (
	_ conversation.Router  = Router{}
	_ conversation.Starter = Router{}
)

// Enqueue puts a new conversation in its queue.
func (r Router) Enqueue(ctx context.Context, req conversation.RouteRequest) error {
	rr := routing.Request{
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
	}
	if r.Recovery != nil && slices.Contains(req.Tags, recovery.Tag) {
		// Only a customer tagged for recovery (Raise tags them, the case
		// ending takes it off) can have a case: the others, nearly every
		// contact, cost no look-up. A failed look-up routes the customer
		// without the boost rather than not at all.
		if _, ok, err := r.Recovery.Active(ctx, req.CustomerID); err == nil && ok {
			rr.Recovery, rr.PreferSkill = true, recovery.Skill
			if rr.LastAgentID != "" {
				// Their last agent is preferred however long ago they served.
				rr.LastServedAt = time.Now()
			}
		}
	}
	err := r.Engine.Enqueue(ctx, rr)
	if errors.Is(err, routing.ErrExists) {
		return nil
	}
	return err
}

// Abandon takes a waiting or offered conversation out of routing because
// its customer left.
func (r Router) Abandon(ctx context.Context, id string) error {
	return ignoreGone(r.Engine.Abandon(ctx, id, routing.CauseCustomer))
}

// Close ends the conversation in routing. The desk has already decided
// that the closer may (and has let routing go itself for a closer who is
// not the holder), so a conversation routing no longer holds is done.
func (r Router) Close(ctx context.Context, id, agentID string) error {
	err := r.Engine.Close(ctx, id, agentID)
	if !errors.Is(err, routing.ErrWrongState) && !errors.Is(err, routing.ErrNotAssigned) {
		return ignoreGone(err)
	}
	st, serr := r.Engine.Conversation(ctx, id)
	if serr != nil {
		return ignoreGone(serr)
	}
	switch st.State {
	case routing.ConvClosed, routing.ConvAbandoned, routing.ConvWrapUp:
		// Routing let go already: a close repeated after a crash between
		// routing and the conversation record, or made by the desk.
		return nil
	case routing.ConvWaiting, routing.ConvOffered:
		if agentID == "" {
			// Only the customer ending it closes for nobody: a close through
			// Service.Close that found routing giving it back to the queue
			// (Desk.CustomerEnded's own such case abandons in closeHeld).
			// Staff close from the queue through the desk, as CauseClosed.
			return ignoreGone(r.Engine.Abandon(ctx, id, routing.CauseCustomer))
		}
	}
	return err
}

// Transfer moves a conversation to another queue or agent.
func (r Router) Transfer(ctx context.Context, req conversation.TransferRequest) error {
	return r.Engine.Transfer(ctx, req.ConversationID, routing.Target{Queue: req.ToQueue, AgentID: req.ToAgentID})
}

// Start hands a conversation an agent starts to that agent, active at once.
func (r Router) Start(ctx context.Context, req conversation.RouteRequest, agentID string) error {
	return r.Engine.Start(ctx, routing.StartRequest{ConversationID: req.ConversationID, Queue: req.Queue,
		Channel: string(req.Channel), CustomerID: req.CustomerID, AgentID: agentID})
}
