package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/channels/webchat"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/realtime"
	"github.com/switchboard/switchboard/routing"
)

// dispositionCustomerEnded closes a chat the customer ended after an agent
// had taken it.
const dispositionCustomerEnded = conversation.DispositionCustomerEnded

// chatBridge adapts the conversation service and routing to what the web
// chat channel asks of them (webchat.Transcript, Queue, Typing, Contacts).
type chatBridge struct {
	convs   *conversation.Service
	engine  *routing.Engine
	hub     *realtime.Hub
	console *consoleBackend // names agents; set with convs
	hours   hours.Queues    // business hours per queue

	// Every widget load and queue poll asks who is online; routing's agent
	// list is read at most once per agentsFresh for all of them.
	mu       sync.Mutex
	agents   []routing.AgentStatus
	agentsAt time.Time
}

// agentsFresh bounds how stale the online count told to customers may be.
const agentsFresh = 2 * time.Second

// Availability tells the chat widget whether anyone answers queue now: the
// queue's business hours (in the workspace zone) and the agents routing
// would offer its chats to.
func (b *chatBridge) Availability(ctx context.Context, queue string) (webchat.Status, error) {
	now := time.Now()
	st := webchat.Status{Open: true}
	if sched := b.hours.Hours(queue); !sched.IsOpen(now) {
		st.Open = false
		if at, ok := sched.NextOpen(now); ok {
			st.Opens = sched.Describe(now, at)
		}
	}
	b.mu.Lock()
	agents, at := b.agents, b.agentsAt
	b.mu.Unlock()
	if now.Sub(at) > agentsFresh {
		var err error
		if agents, err = b.engine.Agents(ctx); err != nil {
			return st, fmt.Errorf("app: chat availability: %w", err)
		}
		b.mu.Lock()
		b.agents, b.agentsAt = agents, now
		b.mu.Unlock()
	}
	for _, q := range b.engine.Queues() {
		if q.Name != queue {
			continue
		}
		for _, a := range agents {
			if a.Serves(q, routing.ChannelChat) {
				st.AgentsOnline++
			}
		}
	}
	return st, nil
}

func (b *chatBridge) Current(ctx context.Context, visitorID string) (webchat.Session, bool, error) {
	cust, err := b.convs.FindCustomer(ctx, conversation.ChannelChat, visitorID)
	if errors.Is(err, conversation.ErrNotFound) {
		return webchat.Session{}, false, nil
	}
	if err != nil {
		return webchat.Session{}, false, err
	}
	page, err := b.convs.History(ctx, cust.ID, 0, 20)
	if err != nil {
		return webchat.Session{}, false, err
	}
	for _, c := range page.Conversations {
		if c.Channel != conversation.ChannelChat || c.CustomerAddress != visitorID {
			continue
		}
		s := webchat.Session{ConversationID: c.ID, Queue: c.Queue, State: chatState(c.State)}
		if s.State == webchat.StateActive && c.AgentID != "" {
			s.AgentName = firstName(b.console.agentName(ctx, c.AgentID))
		}
		return s, true, nil
	}
	return webchat.Session{}, false, nil
}

func chatState(s conversation.State) string {
	switch s {
	case conversation.StateQueued:
		return webchat.StateQueued
	case conversation.StateOffered:
		return webchat.StateOffered
	case conversation.StateActive:
		return webchat.StateActive
	}
	return webchat.StateClosed
}

func (b *chatBridge) Messages(ctx context.Context, convID, afterID string) ([]webchat.Message, error) {
	entries, err := b.convs.Transcript(ctx, convID, afterID, 200)
	if err != nil {
		return nil, err
	}
	nm := b.console.names()
	out := make([]webchat.Message, 0, len(entries))
	for _, e := range entries {
		// The widget knows live messages by their message id (what the
		// channel publishes), so resumed copies carry the same id.
		m := webchat.Message{ID: e.MessageID, Cursor: e.ID, Text: e.Text, ProviderID: e.ProviderID, At: e.At}
		if m.ID == "" {
			m.ID = e.ID
		}
		switch e.Type {
		case conversation.EntryCustomer:
			m.From = webchat.FromCustomer
		case conversation.EntryAgent:
			m.From = webchat.FromAgent
			m.Name = firstName(nm.agent(ctx, e.Author))
		default:
			// Notes, system events and statuses are not for the customer,
			// but the cursor still moves past them.
			if len(out) > 0 {
				out[len(out)-1].Cursor = e.ID
			}
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

func (b *chatBridge) End(ctx context.Context, convID string) error {
	conv, err := b.convs.Conversation(ctx, convID)
	if err != nil {
		return err
	}
	if !conv.Open() {
		return nil
	}
	// Routing's state decides, not the record, which may not have heard
	// of an accept made a moment ago.
	if rc, err := b.engine.Conversation(ctx, convID); err == nil && rc.State != routing.ConvWaiting && rc.State != routing.ConvOffered {
		_, err = b.convs.Close(ctx, convID, "", dispositionCustomerEnded)
		return err
	}
	return b.convs.Abandon(ctx, convID)
}

func (b *chatBridge) Position(ctx context.Context, convID string) (int, bool, error) {
	return b.engine.Position(ctx, convID)
}

func (b *chatBridge) Estimate(ctx context.Context, queue string) (time.Duration, time.Duration, bool, error) {
	return estimator{b.engine}.Estimate(ctx, queue)
}

func (b *chatBridge) CustomerTyping(ctx context.Context, convID string, typing bool) error {
	return b.hub.Publish(ctx, agentui.ConvTopic(convID), agentui.TypingFrame(convID, "customer", "", typing))
}

func (b *chatBridge) SetContact(ctx context.Context, convID, _ /* visitorID */, name, email string) error {
	conv, err := b.convs.Conversation(ctx, convID)
	if err != nil {
		return err
	}
	cust, err := b.convs.Customer(ctx, conv.CustomerID)
	if err != nil {
		return err
	}
	upd := conversation.CustomerUpdate{}
	// The name the visitor types now is the one they want to be called: a
	// returning visitor who gives a new name gets it.
	if name = strings.TrimSpace(name); name != "" && name != cust.Name {
		upd.Name = &name
	}
	if email = strings.TrimSpace(email); email != "" {
		// Unverified: shown to agents as a note, never used to merge this
		// visitor into the customer who owns that address. Each address is
		// noted once, however many chats give it.
		line := "Email given in chat (unverified): " + email
		if !slices.Contains(strings.Split(cust.Notes, "\n"), line) {
			notes := strings.TrimSpace(cust.Notes + "\n" + line)
			upd.Notes = &notes
		}
	}
	if upd.Name == nil && upd.Notes == nil {
		return nil
	}
	if _, err := b.convs.UpdateCustomer(ctx, cust.ID, upd); err != nil {
		return fmt.Errorf("app: chat contact for %s: %w", convID, err)
	}
	return nil
}

var (
	_ webchat.Transcript = (*chatBridge)(nil)
	_ webchat.Queue      = (*chatBridge)(nil)
	_ webchat.Typing     = (*chatBridge)(nil)
	_ webchat.Contacts   = (*chatBridge)(nil)

	_ webchat.Availability = (*chatBridge)(nil)
)
