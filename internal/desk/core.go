package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/recovery"
	"github.com/switchboard/switchboard/routing"
)

// The Desk is what every channel is given of the core.
var _ channel.Core = (*Desk)(nil)

// Receive stores one inbound message durably (see conversation.Service.Receive).
// A reply to a satisfaction survey is read first: a bare rating is
// recorded and opens no conversation; a rating with words is recorded and
// the message still reaches a person.
func (d *Desk) Receive(ctx context.Context, in channel.Inbound) (channel.Receipt, error) {
	if r, done := d.receiveSurveyReply(ctx, in); done {
		return r, nil
	}
	r, err := d.convs.Receive(ctx, in)
	if err == nil {
		d.afterReceive(ctx, in, r)
	}
	return r, err
}

// UpdateDelivery records a provider's report on a sent message; an unknown
// provider id is channel.ErrUnknownMessage (conversation's is the same).
func (d *Desk) UpdateDelivery(ctx context.Context, st channel.DeliveryStatus) error {
	return d.convs.UpdateDelivery(ctx, st)
}

// Place is the conversation's place in line and its queue's estimate, as
// they may be told to the customer; Position 0 when it is not waiting.
func (d *Desk) Place(ctx context.Context, conversationID string) (channel.Place, error) {
	rc, err := d.engine.Conversation(ctx, conversationID)
	if errors.Is(err, routing.ErrNotFound) {
		return channel.Place{}, fmt.Errorf("desk: place of %s: %w", conversationID, channel.ErrNotFound)
	}
	if err != nil {
		return channel.Place{}, err
	}
	pos, ok, err := d.engine.PositionOf(ctx, rc)
	if err != nil || !ok {
		return channel.Place{}, err
	}
	// The estimate is for this place in line (place × recent handle time
	// ÷ agents serving), not a queue-wide average that ignores position.
	est, err := d.engine.EstimateAt(ctx, rc.Queue, pos)
	if err != nil {
		// A position without an estimate is still worth telling.
		d.log.Warn("desk: wait estimate", "queue", rc.Queue, "err", err)
		return channel.Place{Position: pos}, nil
	}
	return channel.Place{Position: pos, Low: est.Low, High: est.High, Known: est.Enough}, nil
}

// Estimate is the expected wait for a newcomer to queue.
func (d *Desk) Estimate(ctx context.Context, queue string) (channel.Place, error) {
	est, err := d.engine.Estimate(ctx, queue)
	if err != nil {
		return channel.Place{}, err
	}
	return channel.Place{Low: est.Low, High: est.High, Known: est.Enough}, nil
}

// autoAuthor is the transcript author of automatic messages.
const autoAuthor = "switchboard"

// Told records what an automatic message told the customer: the wait range
// goes to routing with the conversation, so the accepted event carries it
// and "promise kept" is measured; the text goes into the transcript, so the
// agent sees what the customer was told.
func (d *Desk) Told(ctx context.Context, conversationID, text string, promised channel.Place) error {
	if promised.Known && promised.High > 0 {
		if err := d.engine.RecordEstimate(ctx, conversationID, routing.Estimate{Low: promised.Low, High: promised.High, Enough: true}); err != nil {
			return fmt.Errorf("desk: record promise on %s: %w", conversationID, err)
		}
	}
	if _, err := d.convs.Note(ctx, conversationID, autoAuthor, "Automatic reply sent: "+text); err != nil {
		return fmt.Errorf("desk: record promise text on %s: %w", conversationID, err)
	}
	return nil
}

// Answered says whether an agent has replied to the customer.
func (d *Desk) Answered(ctx context.Context, conversationID string) (bool, error) {
	ok, err := d.convs.Answered(ctx, conversationID)
	if errors.Is(err, conversation.ErrNotFound) {
		return false, fmt.Errorf("desk: answered %s: %w", conversationID, channel.ErrNotFound)
	}
	return ok, err
}

// Record adds a system line to the transcript, shown to agents only.
func (d *Desk) Record(ctx context.Context, conversationID, event, text string) error {
	if err := d.convs.Record(ctx, conversationID, event, text); err != nil {
		return err
	}
	if event == channel.RecordMissedCallback && d.recovery != nil {
		conv, err := d.convs.Conversation(ctx, conversationID)
		if err != nil {
			return mapErr(err)
		}
		err = d.recovery.Raise(ctx, conv.CustomerID, recovery.Reason{Kind: recovery.ReasonMissedCallback,
			ConversationID: conv.ID, AgentID: conv.AgentID, Queue: conv.Queue, Channel: string(conv.Channel), Text: text})
		if err != nil {
			d.log.Warn("desk: missed callback raised no recovery", "conversation", conv.ID, "err", err)
		}
	}
	return nil
}

// Abandon ends a conversation whose customer left before an agent took it.
func (d *Desk) Abandon(ctx context.Context, conversationID string) error {
	return d.convs.Abandon(ctx, conversationID)
}

// CustomerEnded closes a conversation the customer ended. Routing's state
// decides whether anyone had taken it (the record may not have heard of an
// accept made a moment ago): if not, it is an abandon.
func (d *Desk) CustomerEnded(ctx context.Context, conversationID string) error {
	conv, err := d.convs.Conversation(ctx, conversationID)
	if err != nil {
		return err
	}
	if !conv.Open() {
		return nil
	}
	if _, st := d.holder(ctx, conv); st == routing.ConvWaiting || st == routing.ConvOffered {
		return d.convs.Abandon(ctx, conversationID)
	}
	_, err = d.close(ctx, conv, "", dispositionCustomerEnded)
	return err
}

// Missed returns an accepted conversation whose agent could not be reached
// to its original place in line, counted as a missed offer of that agent.
func (d *Desk) Missed(ctx context.Context, conversationID, agentID string) error {
	return mapErr(d.engine.Requeue(ctx, conversationID, agentID))
}

// Chat session states, as the web chat widget names them.
const (
	ChatQueued  = "queued"
	ChatOffered = "offered"
	ChatActive  = "active"
	ChatClosed  = "closed"
)

// Who wrote a ChatMessage.
const (
	FromCustomer = "customer"
	FromAgent    = "agent"
)

// ChatSession is a visitor's chat conversation as the widget needs it.
type ChatSession struct {
	ConversationID string
	// Queue is the routing queue the conversation waits in.
	Queue string
	// State is ChatQueued, ChatOffered, ChatActive or ChatClosed.
	State string
	// AgentName is the first name of the agent serving it when active.
	AgentName string
}

// ChatMessage is one customer-visible transcript message. Internal notes
// and system entries are never ChatMessages.
type ChatMessage struct {
	// ID is the message id; the widget shows each id once.
	ID string
	// Cursor is the transcript position the widget resumes after.
	Cursor string
	// From is FromCustomer or FromAgent.
	From string
	// Name is the agent's first name on agent messages.
	Name string
	Text string
	// Attachments are the message's files; the widget links those held in
	// the attachment store (StoredPath), through its own authorised route.
	Attachments []channel.Attachment
	// ProviderID is the Inbound.ProviderID the message was received with.
	ProviderID string
	At         time.Time
}

// Current returns the visitor's most recent chat conversation, open or
// closed, and false when the visitor has none.
func (d *Desk) Current(ctx context.Context, visitorID string) (ChatSession, bool, error) {
	cust, err := d.convs.FindCustomer(ctx, channel.Chat, visitorID)
	if errors.Is(err, conversation.ErrNotFound) {
		return ChatSession{}, false, nil
	}
	if err != nil {
		return ChatSession{}, false, err
	}
	page, err := d.convs.History(ctx, cust.ID, 0, 20)
	if err != nil {
		return ChatSession{}, false, err
	}
	for _, c := range page.Conversations {
		if c.Channel != channel.Chat || c.CustomerAddress != visitorID {
			continue
		}
		s := ChatSession{ConversationID: c.ID, Queue: c.Queue, State: chatState(c.State)}
		if s.State == ChatActive && c.AgentID != "" {
			s.AgentName = d.shownName(ctx, c.AgentID)
		}
		return s, true, nil
	}
	return ChatSession{}, false, nil
}

func chatState(s conversation.State) string {
	switch s {
	case conversation.StateQueued:
		return ChatQueued
	case conversation.StateOffered:
		return ChatOffered
	case conversation.StateActive:
		return ChatActive
	}
	return ChatClosed
}

// Messages returns customer-visible messages of convID after the cursor
// afterID, oldest first, a page of at most 200 transcript entries.
func (d *Desk) Messages(ctx context.Context, convID, afterID string) ([]ChatMessage, error) {
	entries, err := d.convs.Transcript(ctx, convID, afterID, 200)
	if err != nil {
		return nil, err
	}
	nm := d.names()
	out := make([]ChatMessage, 0, len(entries))
	for _, e := range entries {
		// The widget knows live messages by their message id (what the
		// channel publishes), so resumed copies carry the same id.
		m := ChatMessage{ID: e.MessageID, Cursor: e.ID, Text: e.Text, Attachments: e.Attachments, ProviderID: e.ProviderID, At: e.At}
		if m.ID == "" {
			m.ID = e.ID
		}
		switch e.Type {
		case conversation.EntryCustomer:
			m.From = FromCustomer
		case conversation.EntryAgent:
			m.From = FromAgent
			m.Name = nm.shown(ctx, e.Author)
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

// CustomerTyping shows the agents watching convID that the customer is
// (or stopped) typing.
func (d *Desk) CustomerTyping(ctx context.Context, convID string, typing bool) error {
	d.consoles.Typing(ctx, convID, "customer", "", typing)
	return nil
}

// SetContact takes a visitor's optional pre-chat details for customer
// customerID, as their first message's receipt names them (not the
// conversation: reading it only to learn the customer cost every chat a
// round trip). The email address is unverified: it is shown to agents as
// a note, never used to merge the visitor into the customer who owns that
// address.
func (d *Desk) SetContact(ctx context.Context, customerID, name, email string) error {
	cust, err := d.convs.Customer(ctx, customerID)
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
		// Each address is noted once, however many chats give it.
		line := "Email given in chat (unverified): " + email
		if !slices.Contains(strings.Split(cust.Notes, "\n"), line) {
			notes := strings.TrimSpace(cust.Notes + "\n" + line)
			upd.Notes = &notes
		}
	}
	if upd.Name == nil && upd.Notes == nil {
		return nil
	}
	if _, err := d.convs.UpdateCustomer(ctx, cust.ID, upd); err != nil {
		return fmt.Errorf("desk: chat contact of customer %s: %w", customerID, err)
	}
	return nil
}
