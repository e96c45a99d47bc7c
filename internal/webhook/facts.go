package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/internal/survey"
)

// Promises is the promise service as the webhooks see it: its events
// stream feeds promise.*, and a promise's record fills in what it says.
// *promise.Service implements it.
type Promises interface {
	EventsKey() string
	Get(ctx context.Context, id string) (promise.Promise, error)
}

// Ratings is the survey service as the webhooks see it: its ratings
// stream feeds rating.received. *survey.Service implements it.
type Ratings interface {
	EventsKey() string
}

// source is one event stream of another package that the fan-out
// consumes (besides routing's, which has its own consumer in routing).
type source struct {
	stream string
	// key is the ordering key of an entry, known before it is handled, so
	// the entries of one key are handled one at a time in stream order.
	key func(v map[string]any) string
	// envelopes turns one entry into what it means for integrations. An
	// error leaves the entry pending, to be handled again.
	envelopes func(ctx context.Context, id string, v map[string]any) ([]Envelope, error)
}

// sources lists the streams configured in Params, in a fixed order.
func (s *Service) sources() []source {
	var out []source
	if c := s.p.Conversations; c != nil {
		out = append(out, source{stream: c.EventsKey(), key: conversation.OrderKey, envelopes: s.fromConversation})
	}
	if p := s.p.Promises; p != nil {
		out = append(out, source{stream: p.EventsKey(), key: convKey, envelopes: s.fromPromise})
	}
	if r := s.p.Ratings; r != nil {
		out = append(out, source{stream: r.EventsKey(), key: convKey, envelopes: s.fromRating})
	}
	return out
}

func str(v map[string]any, k string) string { s, _ := v[k].(string); return s }

// convKey orders by conversation, like routing's conversation events, so
// one conversation's events of every source share an ordering list.
func convKey(v map[string]any) string { return str(v, "conv") }

// fromConversation turns one entry of the conversation service's event
// stream into its envelope, reading what the entry only names (a
// message's text, a customer's tags) from the records.
func (s *Service) fromConversation(ctx context.Context, id string, v map[string]any) ([]Envelope, error) {
	ev := conversation.EventFrom(id, v)
	convs := s.p.Conversations
	env := Envelope{ID: "evt_cv_" + id, Type: ev.Type, OccurredAt: ev.At, Workspace: s.p.Workspace, key: conversation.OrderKey(v)}
	d := Data{ConversationID: ev.ConversationID, CustomerID: ev.CustomerID, Channel: string(ev.Channel),
		MessageID: ev.MessageID, AgentID: ev.AgentID, ProviderID: ev.ProviderID}
	switch ev.Type {
	case conversation.EventMessageReceived, conversation.EventMessageSent, conversation.EventMessageStatus:
		types := []string{ev.Type}
		if ev.Type == conversation.EventMessageReceived && ev.NewConversation {
			types = append(types, TypeConversationCreated)
		}
		if ok, err := s.wanted(ctx, types...); !ok || err != nil {
			return nil, err
		}
		if ev.Type == conversation.EventMessageStatus {
			d.Status, d.ErrorCode, d.ErrorText = ev.Status, ev.ErrorCode, ev.ErrorText
		}
		if ev.Type == conversation.EventMessageSent {
			d.Status = ev.Status
		}
		d.NewConversation = ev.NewConversation
		if ev.Type != conversation.EventMessageStatus && ev.EntryID != "" {
			e, err := convs.Entry(ctx, ev.ConversationID, ev.EntryID)
			switch {
			case errors.Is(err, conversation.ErrNotFound):
				// The transcript is gone: the event still tells what happened.
			case err != nil:
				return nil, err
			default:
				d.Text = e.Text
				for _, a := range e.Attachments {
					d.Attachments = append(d.Attachments, Attachment{Name: a.Name, ContentType: a.ContentType, Size: a.Size})
				}
			}
		}
		c, err := convs.Conversation(ctx, ev.ConversationID)
		switch {
		case errors.Is(err, conversation.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			d.Queue = c.Queue
			if d.CustomerID == "" {
				d.CustomerID = c.CustomerID
			}
		}
		if ev.Type == conversation.EventMessageReceived && ev.NewConversation {
			// The conversation is created by its first message: one
			// stream entry, so the two can never arrive the other way round
			// (same stream id; queued in this order).
			created := env
			created.ID, created.Type = env.ID+"_created", TypeConversationCreated
			created.Data = Data{ConversationID: d.ConversationID, Queue: d.Queue, Channel: d.Channel, CustomerID: d.CustomerID}
			env.Data = d
			return []Envelope{created, env}, nil
		}
	case conversation.EventConversationStarted:
		// An agent started it to the customer: created, and assigned to
		// that agent at once, with no wait, in this order (one entry).
		d.Queue, d.Reason = ev.Queue, "outbound"
		created, assigned := env, env
		created.ID, created.Type, created.Data = env.ID+"_created", TypeConversationCreated, d
		assigned.Type, assigned.Data = TypeConversationAssigned, d
		return []Envelope{created, assigned}, nil
	case conversation.EventCustomerCreated:
		d.Identity, d.Name = ev.Address, ev.Name
	case conversation.EventCustomerUpdated:
		if ok, err := s.wanted(ctx, TypeCustomerUpdated); !ok || err != nil {
			return nil, err
		}
		d.Changes, d.ConversationID = ev.Changes, ""
		c, err := convs.Customer(ctx, ev.CustomerID)
		switch {
		case errors.Is(err, conversation.ErrNotFound):
		case err != nil:
			return nil, err
		case c.ID == ev.CustomerID:
			// The customer as they are now (a later change may show
			// already); one merged away since is told by customer.merged.
			d.Name, d.Tags, d.Identities = c.Name, nonNil(c.Tags), nonNil(c.Identities)
		}
	case conversation.EventCustomerMerged:
		d.MergedCustomerID = ev.MergedID
	case conversation.EventConversationClosed:
		// Everything is in the entry, the disposition included: the
		// script that recorded the close wrote it.
		d.Queue, d.Disposition = ev.Queue, ev.Disposition
		if ev.From != conversation.FromHandled {
			// Closed before anyone took it (spam from the queue): where it
			// was and how long it waited; nobody handled it.
			d.Reason, d.WaitMS = string(ev.From), ev.Wait.Milliseconds()
		} else {
			d.HandleMS = ev.Handle.Milliseconds()
		}
	default:
		return nil, nil // a type of a newer version: not ours to guess
	}
	env.Data = d
	return []Envelope{env}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// fromPromise turns one entry of the promise service's events stream into
// its envelope. A conversation brought back by a promise settled already
// (kept before its due time) is no promise.due.
func (s *Service) fromPromise(ctx context.Context, id string, v map[string]any) ([]Envelope, error) {
	ev := promise.EventFrom(id, v)
	env := Envelope{ID: "evt_pr_" + id, OccurredAt: ev.At, Workspace: s.p.Workspace, key: ev.ConversationID}
	d := Data{PromiseID: ev.PromiseID, ConversationID: ev.ConversationID, AgentID: ev.AgentID, Queue: ev.Queue, Due: ev.Due}
	switch ev.Type {
	case promise.EventMade:
		env.Type = TypePromiseMade
	case promise.EventReturned:
		if ev.State != promise.Open {
			return nil, nil
		}
		env.Type, d.Returned = TypePromiseDue, ev.To
	case promise.EventKept, promise.EventLate:
		env.Type, d.State, d.Via, d.LateMS = TypePromiseKept, ev.Type, ev.Via, ev.LateMS
	case promise.EventBroken:
		env.Type, d.State = TypePromiseBroken, ev.Type
	default:
		return nil, nil
	}
	if ok, err := s.wanted(ctx, env.Type); !ok || err != nil {
		return nil, err
	}
	p, err := s.p.Promises.Get(ctx, ev.PromiseID)
	switch {
	case errors.Is(err, promise.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("webhook: promise %s: %w", ev.PromiseID, err)
	default:
		d.CustomerID, d.Channel, d.What, d.Pending = p.CustomerID, p.Channel, p.What, p.Pending && ev.Type == promise.EventMade
		if d.AgentID == "" {
			d.AgentID = p.AgentID
		}
		if d.Queue == "" {
			d.Queue = p.Queue
		}
		if d.Due.IsZero() {
			d.Due = p.Due
		}
	}
	env.Data = d
	return []Envelope{env}, nil
}

// fromRating turns one entry of the ratings stream into its envelope.
func (s *Service) fromRating(_ context.Context, id string, v map[string]any) ([]Envelope, error) {
	r := survey.RatingFrom(v)
	return []Envelope{{ID: "evt_rt_" + id, Type: TypeRatingReceived, OccurredAt: r.At, Workspace: s.p.Workspace, key: r.ConversationID,
		Data: Data{ConversationID: r.ConversationID, CustomerID: r.CustomerID, AgentID: r.AgentID, Queue: r.Queue,
			Channel: r.Channel, Score: r.Score, Comment: r.Comment}}}, nil
}
