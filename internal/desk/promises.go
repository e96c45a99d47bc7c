package desk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/routing"
)

// PromiseRequest is a follow-up promise an agent makes on a conversation.
type PromiseRequest struct {
	// What is promised, as the agent would say it ("call back about the
	// refund").
	What string
	// Due is when it is promised by; in the future.
	Due time.Time
	// Pending: the conversation waits, out of the agent's active list,
	// until the due time or until the customer writes; routing lets go of
	// it meanwhile, so it holds none of the agent's capacity.
	Pending bool
	// Message, when set, is sent to the customer on their channel, in the
	// agent's words; promise.DuePlaceholder ("{due}") in it becomes the due
	// time in the customer's time zone when known, else the workspace's.
	Message string
	// CustomerTimeZone, when set, is remembered as the customer's IANA
	// time zone.
	CustomerTimeZone string
}

func (d *Desk) promisesOn() error {
	if d.promises == nil {
		return fmt.Errorf("%w: promises are not enabled", ErrInvalid)
	}
	return nil
}

// waitsForPromise reports whether the conversation waits for a promise
// (routing let go of it, its record stays open).
func (d *Desk) waitsForPromise(ctx context.Context, convID string) bool {
	return d.waited(ctx, convID, d.readWaiting(convID))
}

// waited is waitsForPromise from a read prepared (perhaps made already
// along the record's, authorize); nil when promises are off.
func (d *Desk) waited(ctx context.Context, convID string, r *promise.WaitingRead) bool {
	w, err := r.Result(ctx)
	if err != nil {
		d.log.Warn("desk: promise waiting", "conv", convID, "err", err)
	}
	return w
}

// MakePromise records a promise on the conversation, owned by whoever
// holds it; see PromiseRequest.
func (d *Desk) MakePromise(ctx context.Context, who Actor, convID string, r PromiseRequest) (promise.Promise, error) {
	if err := d.promisesOn(); err != nil {
		return promise.Promise{}, err
	}
	a, err := d.authorize(ctx, who, Promise, convID)
	if err != nil {
		return promise.Promise{}, err
	}
	conv, owner, st := a.conv, a.agent, a.state
	if owner == "" {
		return promise.Promise{}, fmt.Errorf("desk: promise on %s: nobody holds it: %w", convID, ErrForbidden)
	}
	if len(r.Message) > 4000 {
		return promise.Promise{}, fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "message", Reason: "at most 4000 bytes"})
	}
	if r.CustomerTimeZone != "" {
		if err := d.promises.SetCustomerZone(ctx, conv.CustomerID, r.CustomerTimeZone); err != nil {
			return promise.Promise{}, mapErr(err)
		}
	}
	if r.Pending {
		// Marked before the promise parks it: a customer message in
		// between finds nothing waiting yet, never misses one waiting.
		if err := d.convs.MarkParked(ctx, convID); err != nil {
			return promise.Promise{}, mapErr(err)
		}
	}
	p, err := d.promises.Make(ctx, promise.Request{ConversationID: convID, CustomerID: conv.CustomerID, AgentID: owner,
		Queue: conv.Queue, Channel: string(conv.Channel), What: r.What, Due: r.Due, Pending: r.Pending})
	if err != nil {
		return promise.Promise{}, mapErr(err)
	}
	if r.Message != "" {
		text := promise.Tell(r.Message, p.Due, d.promises.CustomerZone(ctx, conv.CustomerID))
		if _, err := d.convs.Reply(ctx, convID, who.AccountID, text, nil); err != nil {
			return p, fmt.Errorf("desk: promise %s recorded, message not sent: %w", p.ID, mapErr(err))
		}
	}
	if r.Pending && st == routing.ConvActive {
		// The promise is recorded as waiting first, so the reactor does
		// not take routing's close for the end of the conversation.
		if err := ignoreGone(d.engine.Close(ctx, convID, owner)); err != nil {
			return p, mapErr(err)
		}
		d.consoles.Unassigned(ctx, owner, convID, "pending")
	}
	return p, nil
}

// promiseOf loads a promise of the conversation, after checking who may
// keep or cancel it.
func (d *Desk) promiseOf(ctx context.Context, who Actor, convID, promiseID string) (promise.Promise, error) {
	if err := d.promisesOn(); err != nil {
		return promise.Promise{}, err
	}
	if _, err := d.authorize(ctx, who, KeepPromise, convID); err != nil {
		return promise.Promise{}, err
	}
	p, err := d.promises.Get(ctx, promiseID)
	if err != nil {
		return promise.Promise{}, mapErr(err)
	}
	if p.ConversationID != convID {
		return promise.Promise{}, fmt.Errorf("desk: promise %s of %s: %w", promiseID, convID, ErrNotFound)
	}
	return p, nil
}

// KeepPromise marks the promise resolved by a reply, a call or a note
// (via): kept by its due time, else late. With text, the reply is sent
// (via "reply") or the note added ("note", "call") in the same step.
func (d *Desk) KeepPromise(ctx context.Context, who Actor, convID, promiseID, via, text string) (promise.Promise, error) {
	p, err := d.promiseOf(ctx, who, convID, promiseID)
	if err != nil {
		return p, err
	}
	if p.State != promise.Open {
		return p, fmt.Errorf("desk: promise %s is %s: %w", promiseID, p.State, ErrConflict)
	}
	if text != "" {
		switch via {
		case promise.ViaReply:
			_, err = d.Reply(ctx, who, convID, text, nil)
		case promise.ViaNote, promise.ViaCall:
			_, err = d.Note(ctx, who, convID, text)
		}
		if err != nil {
			return p, err
		}
	}
	p, err = d.promises.Keep(ctx, promiseID, via)
	return p, mapErr(err)
}

// CancelPromise gives the promise up: unresolved, it is broken (the
// promise service's Broken hook hears of it). A conversation that waited
// for it comes back to its agent.
func (d *Desk) CancelPromise(ctx context.Context, who Actor, convID, promiseID string) (promise.Promise, error) {
	if _, err := d.promiseOf(ctx, who, convID, promiseID); err != nil {
		return promise.Promise{}, err
	}
	p, err := d.promises.Cancel(ctx, promiseID)
	return p, mapErr(err)
}

// ConversationPromises lists the conversation's promises, oldest first.
func (d *Desk) ConversationPromises(ctx context.Context, who Actor, convID string) ([]promise.Promise, error) {
	if err := d.promisesOn(); err != nil {
		return nil, err
	}
	if _, err := d.authorize(ctx, who, See, convID); err != nil {
		return nil, err
	}
	ps, err := d.promises.ForConversation(ctx, convID)
	return ps, mapErr(err)
}

// MyPromises lists who's open promises by due time: the console's list,
// which also holds the conversations waiting for them.
func (d *Desk) MyPromises(ctx context.Context, who Actor) ([]promise.Promise, error) {
	if err := d.promisesOn(); err != nil {
		return nil, err
	}
	ps, err := d.promises.ForAgent(ctx, who.AccountID)
	return ps, mapErr(err)
}

// PromiseBoard is the supervisors' view of promises: due within the hour,
// at risk, late and broken.
func (d *Desk) PromiseBoard(ctx context.Context, who Actor) (promise.Board, error) {
	if err := d.promisesOn(); err != nil {
		return promise.Board{}, err
	}
	if !who.supervises() {
		return promise.Board{}, fmt.Errorf("desk: promise board: %w", ErrForbidden)
	}
	b, err := d.promises.Board(ctx)
	return b, mapErr(err)
}

// PromiseRouter adapts routing and the conversation service to what the
// promise service's due loop needs (promise.Router).
type PromiseRouter struct {
	Engine        *routing.Engine
	Conversations *conversation.Service
}

// Owner reports the agent's routing state and whether they can take a
// conversation on channel now.
func (r PromiseRouter) Owner(ctx context.Context, agentID, channel string) (string, bool, error) {
	a, err := r.Engine.Agent(ctx, agentID)
	if errors.Is(err, routing.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(a.State), a.State == routing.StateAvailable && a.Load[channel] < a.Capacity[channel], nil
}

// Return enqueues the conversation again at priority prio with owner as
// its last agent, whom routing prefers within the queue's sticky window
// (a day by default) if they can take it. A conversation routing holds
// already is left alone; one in wrap-up is tried again later.
func (r PromiseRouter) Return(ctx context.Context, convID, owner string, prio int) error {
	conv, err := r.Conversations.Conversation(ctx, convID)
	if errors.Is(err, conversation.ErrNotFound) {
		return promise.ErrGone
	}
	if err != nil {
		return err
	}
	if !conv.Open() {
		return promise.ErrGone
	}
	if rc, err := r.Engine.Conversation(ctx, convID); err == nil {
		switch rc.State {
		case routing.ConvWaiting, routing.ConvOffered, routing.ConvActive:
			return nil
		case routing.ConvWrapUp:
			return fmt.Errorf("desk: return %s: the agent is still in wrap-up", convID)
		}
	}
	err = r.Engine.Enqueue(ctx, routing.Request{ConversationID: convID, Queue: conv.Queue, Channel: string(conv.Channel),
		CustomerID: conv.CustomerID, Priority: prio, Skills: conv.Skills, LastAgentID: owner, LastServedAt: time.Now()})
	if errors.Is(err, routing.ErrExists) {
		return nil
	}
	return err
}

var _ promise.Router = PromiseRouter{}
