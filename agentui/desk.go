package agentui

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/realtime"
	"github.com/switchboard/switchboard/internal/recovery"
)

// deskBackend is the console's Backend on the desk: each call is the
// desk's, with the desk's results turned into what the console shows.
// Nothing is decided here.
type deskBackend struct{ d *desk.Desk }

// NewDeskBackend returns the Backend of the real gateway.
func NewDeskBackend(d *desk.Desk) Backend { return deskBackend{d} }

func (b deskBackend) Snapshot(ctx context.Context, who desk.Actor) (desk.Snapshot, error) {
	return b.d.Snapshot(ctx, who)
}

func (b deskBackend) SetState(ctx context.Context, who desk.Actor, state, reason string) error {
	return b.d.SetAgentState(ctx, who, who.AccountID, state, reason)
}

func (b deskBackend) Heartbeat(ctx context.Context, who desk.Actor) error {
	return b.d.Heartbeat(ctx, who)
}

func (b deskBackend) Accept(ctx context.Context, who desk.Actor, convID string) error {
	return b.d.Accept(ctx, who, convID)
}

func (b deskBackend) Decline(ctx context.Context, who desk.Actor, convID string) error {
	return b.d.Decline(ctx, who, convID)
}

func (b deskBackend) Reply(ctx context.Context, who desk.Actor, convID, text string) (desk.Message, error) {
	e, err := b.d.Reply(ctx, who, convID, text, nil)
	if err != nil {
		return desk.Message{}, err
	}
	return b.d.View(ctx, convID, e), nil
}

// RecoveryNote records what was done for a customer in service recovery.
func (b deskBackend) RecoveryNote(ctx context.Context, who desk.Actor, convID, text string) (*desk.RecoveryBanner, error) {
	return b.d.RecoveryNote(ctx, who, convID, text)
}

func (b deskBackend) Note(ctx context.Context, who desk.Actor, convID, text string) (desk.Message, error) {
	e, err := b.d.Note(ctx, who, convID, text)
	if err != nil {
		return desk.Message{}, err
	}
	return b.d.View(ctx, convID, e), nil
}

func (b deskBackend) Close(ctx context.Context, who desk.Actor, convID, disposition string) error {
	_, err := b.d.Close(ctx, who, convID, disposition)
	return err
}

func (b deskBackend) Transfer(ctx context.Context, who desk.Actor, convID, queue, toAgent string) error {
	_, err := b.d.Transfer(ctx, who, convID, queue, toAgent)
	return err
}

func (b deskBackend) Typing(ctx context.Context, who desk.Actor, convID string, on bool) error {
	return b.d.Typing(ctx, who, convID, on)
}

func (b deskBackend) Transcript(ctx context.Context, who desk.Actor, convID, afterID string, limit int) (desk.TranscriptPage, error) {
	return b.d.Transcript(ctx, who, convID, afterID, limit)
}

func (b deskBackend) Customer(ctx context.Context, who desk.Actor, convID string) (desk.CustomerView, error) {
	return b.d.CustomerPanel(ctx, who, convID)
}

func (b deskBackend) Queues(ctx context.Context) ([]string, error) { return b.d.Queues(ctx) }

func (b deskBackend) Agents(ctx context.Context) ([]desk.AgentSummary, error) { return b.d.Agents(ctx) }

func (b deskBackend) CannedReplies(ctx context.Context) ([]desk.Canned, error) {
	return b.d.CannedReplies(ctx)
}

// Publisher is desk.Consoles on the realtime hub: it turns what the desk
// says into frames on the agent and conversation topics, which the hub
// carries to every gateway. A lost frame is repaired by the client's
// resume; an offer that never rang lapses and is offered again.
type Publisher struct {
	Hub    *realtime.Hub
	Logger *slog.Logger
}

var _ desk.Consoles = (*Publisher)(nil)

// RecoveryAlert tells every supervisor on every gateway that a customer
// needs service recovery (recovery.Alerter): an alert frame, raised.
func (p *Publisher) RecoveryAlert(ctx context.Context, a recovery.Alert) {
	p.publish(ctx, TopicSupervisors, encode(map[string]any{"type": FrameAlert, "raised": true, "alert": map[string]any{
		"kind": "recovery", "customer_id": a.CustomerID, "conv": a.ConversationID, "queue": a.Queue, "channel": a.Channel,
		"agent": a.AgentID, "score": a.Score, "comment": a.Comment, "reason": a.Kind, "message": a.Message, "since": a.At,
	}}))
}

func (p *Publisher) publish(ctx context.Context, topic string, frame []byte) {
	if err := p.Hub.Publish(ctx, topic, frame); err != nil && p.Logger != nil {
		p.Logger.Warn("agentui: publish frame", "topic", topic, "err", err)
	}
}

// Offer rings the agent's console.
func (p *Publisher) Offer(ctx context.Context, agentID string, o desk.Offer) {
	p.publish(ctx, AgentTopic(agentID), OfferFrame(o))
}

// OfferRevoked takes an offer off the agent's console.
func (p *Publisher) OfferRevoked(ctx context.Context, agentID, convID, reason string) {
	p.publish(ctx, AgentTopic(agentID), OfferRevokedFrame(convID, reason))
}

// Assigned adds a conversation to the agent's console.
func (p *Publisher) Assigned(ctx context.Context, agentID string, c desk.Conversation) {
	p.publish(ctx, AgentTopic(agentID), AssignedFrame(c))
}

// Unassigned takes a conversation off the agent's console.
func (p *Publisher) Unassigned(ctx context.Context, agentID, convID, reason string) {
	p.publish(ctx, AgentTopic(agentID), UnassignedFrame(convID, reason))
}

// Revoke takes every console of the agent, on every gateway, off the
// conversation's topic.
func (p *Publisher) Revoke(ctx context.Context, agentID, convID string) {
	if err := p.Hub.Leave(ctx, AgentTopic(agentID), ConvTopic(convID)); err != nil && p.Logger != nil {
		p.Logger.Error("agentui: revoke access; consoles on other gateways may keep receiving the conversation until they reconnect",
			"agent", agentID, "conv", convID, "err", err)
	}
}

// AgentState tells the agent's console its new state.
func (p *Publisher) AgentState(ctx context.Context, agentID string, st desk.AgentState) {
	p.publish(ctx, AgentTopic(agentID), StateFrame(st))
}

// Message sends a new transcript line to the conversation's watchers.
func (p *Publisher) Message(ctx context.Context, m desk.Message) {
	p.publish(ctx, ConvTopic(m.ConversationID), MessageFrame(m))
}

// MessageStatus sends a reply's new delivery status.
func (p *Publisher) MessageStatus(ctx context.Context, convID, messageID, status, errText string) {
	p.publish(ctx, ConvTopic(convID), MessageStatusFrame(convID, messageID, status, errText))
}

// Closed tells the conversation's watchers that it ended.
func (p *Publisher) Closed(ctx context.Context, convID, by, disposition string, at time.Time) {
	p.publish(ctx, ConvTopic(convID), ConversationClosedFrame(convID, by, disposition, at))
}

// Typing shows who is typing in the conversation.
func (p *Publisher) Typing(ctx context.Context, convID, who, name string, on bool) {
	p.publish(ctx, ConvTopic(convID), TypingFrame(convID, who, name, on))
}
