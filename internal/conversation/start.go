package conversation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// ErrOpenConversation means the customer already has an open conversation
// on the channel; an *OpenError names it. A customer has one open
// conversation per channel, so their reply can only land in one.
var ErrOpenConversation = errors.New("customer has an open conversation on the channel")

// OpenError is ErrOpenConversation naming the open conversation.
type OpenError struct{ ConversationID string }

func (e *OpenError) Error() string {
	return "customer has an open conversation on the channel: " + e.ConversationID
}

// Is makes errors.Is(err, ErrOpenConversation) hold.
func (e *OpenError) Is(target error) bool { return target == ErrOpenConversation }

// Starter is implemented by a Router that can hand a conversation an
// agent starts straight to that agent, active at once, counted against the
// agent's capacity (desk.Router does). Start must be idempotent for the
// same conversation and agent.
type Starter interface {
	Start(ctx context.Context, req RouteRequest, agentID string) error
}

// StartRequest is a conversation an agent starts to a customer.
type StartRequest struct {
	Channel channel.Name
	// CustomerAddress is the customer's address on Channel (an E.164
	// number, an email address). Required; a customer not known by it yet
	// is created.
	CustomerAddress string
	// OurAddress is the number or mailbox the message goes out from, and
	// that the customer's reply comes back to.
	OurAddress string
	// Queue the conversation belongs to. Empty: the route of OurAddress.
	Queue string
	// AgentID holds the conversation from the start. Required.
	AgentID string
	// Text is the first message. Required.
	Text string
	// Subject of the first message on channels that have one (email).
	Subject string
}

// Started is what Start made.
type Started struct {
	Conversation Conversation
	// System is the transcript line saying who started it; Message the
	// first message, queued in the outbox.
	System, Message Entry
}

// Start opens a conversation to a customer: routing hands it to the agent
// at once (Starter), then one script stores the customer (when new), the
// conversation (active, with the agent), a line saying who started it and
// the first message queued in the outbox, so the message leaves only once
// routing has counted the conversation against the agent's capacity.
// When storing fails, routing lets the conversation go again; when the
// process dies in between, the desk's reactor does (an event for a
// conversation that never got a record). The customer's reply joins it as
// their open conversation on the channel.
func (s *Service) Start(ctx context.Context, req StartRequest) (Started, error) {
	st, ok := s.router.(Starter)
	if !ok {
		return Started{}, errors.New("conversation: start: the router cannot start conversations")
	}
	addr, err := NormalizeAddress(req.Channel, req.CustomerAddress)
	if err != nil {
		return Started{}, fmt.Errorf("conversation: start: %w", err)
	}
	switch {
	case req.AgentID == "":
		return Started{}, fmt.Errorf("conversation: start: %w", &FieldError{Field: "agent_id", Reason: "required"})
	case strings.TrimSpace(req.Text) == "":
		return Started{}, fmt.Errorf("conversation: start: %w", &FieldError{Field: "text", Reason: "the first message is required"})
	case len(req.Subject) > 998:
		return Started{}, fmt.Errorf("conversation: start: %w", &FieldError{Field: "subject", Reason: "at most 998 bytes"})
	}
	rt := s.route(req.OurAddress)
	if req.Queue == "" {
		req.Queue = rt.Queue
	}
	// The customer's id for routing's record: the known one, or the one the
	// script creates (a race that creates another first only leaves
	// routing's copy of the id stale; the record has the right one).
	custID := newID("cu_")
	if c, err := s.FindCustomer(ctx, req.Channel, addr); err == nil {
		custID = c.ID
		if open, err := s.rdb.Get(ctx, s.k.open(c.ID, req.Channel)).Result(); err == nil && open != "" {
			if conv, err := s.Conversation(ctx, open); err == nil && conv.Open() {
				return Started{}, fmt.Errorf("conversation: start: %w", &OpenError{ConversationID: open})
			}
		}
	} else if !errors.Is(err, ErrNotFound) {
		return Started{}, fmt.Errorf("conversation: start: %w", err)
	}
	convID, msgID := newID("cv_"), newID("m_")
	now := s.now()
	rr := RouteRequest{ConversationID: convID, Queue: req.Queue, Channel: req.Channel, CustomerID: custID, EnqueuedAt: now}
	if err := st.Start(ctx, rr, req.AgentID); err != nil {
		return Started{}, fmt.Errorf("conversation: start: routing: %w", err)
	}
	text := "Started by " + req.AgentID
	res, err := scriptStart.Run(ctx, s.rdb,
		[]string{s.k.ident(identKind(req.Channel), addr), s.k.conv(convID), s.k.convLog(convID), s.k.msg(msgID), s.k.outbox()},
		s.k.prefix(), string(req.Channel), addr, identKind(req.Channel), custID, strings.TrimSpace(req.OurAddress),
		req.Queue, req.AgentID, convID, msgID, req.Text, req.Subject, ms(now), text, s.evCap).Slice()
	if err == nil && len(res) > 0 {
		if code, _ := res[0].(int64); code == 3 {
			open, _ := res[1].(string)
			err = &OpenError{ConversationID: open}
		}
	}
	if err != nil {
		// Nothing was stored: routing lets the agent's slot go again.
		if cerr := s.router.Close(ctx, convID, req.AgentID); cerr != nil {
			s.log.WarnContext(ctx, "conversation: start failed and routing kept it; the reactor repairs it", "conversation", convID, "err", cerr)
		}
		return Started{}, fmt.Errorf("conversation: start to %s: %w", addr, err)
	}
	at := now.UTC().Truncate(time.Millisecond)
	sysID, _ := res[2].(string)
	msgEntry, _ := res[3].(string)
	out := Started{
		System:  Entry{ID: sysID, Type: EntrySystem, Event: "started", AgentID: req.AgentID, Text: text, At: at},
		Message: Entry{ID: msgEntry, Type: EntryAgent, MessageID: msgID, Author: req.AgentID, Text: req.Text, Status: "pending", At: at},
	}
	s.notify(ctx, convID, out.System)
	s.notify(ctx, convID, out.Message)
	s.kick()
	if out.Conversation, err = s.Conversation(ctx, convID); err != nil {
		return Started{}, err
	}
	return out, nil
}
