package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/channels/webchat"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/realtime"
	"github.com/switchboard/switchboard/routing"
)

// projector turns each routing event into its consequences once across all
// gateways (a routing consumer group): the conversation record and
// transcript learn of it, and the consoles and chat widgets concerned get a
// frame through the realtime hub, which fans out to every gateway.
type projector struct {
	engine  *routing.Engine
	convs   *conversation.Service
	hub     *realtime.Hub
	console *consoleBackend
	chat    chatEvents // nil when web chat is off
	log     *slog.Logger
}

// chatEvents is what the web chat channel shows its customer of routing.
type chatEvents interface {
	AgentJoined(ctx context.Context, convID, agentName string) error
	Closed(ctx context.Context, convID, reason string) error
	QueueChanged(ctx context.Context, convID, queue string) error
}

func (p *projector) handle(ctx context.Context, ev routing.Event) error {
	switch ev.Type {
	case routing.EventOffered:
		if err := p.convs.OnOffered(ctx, ev.ConversationID, ev.AgentID, ev.At); err != nil {
			return ignoreMissing(err)
		}
		conv, err := p.convs.Conversation(ctx, ev.ConversationID)
		if err != nil {
			return ignoreMissing(err)
		}
		p.publish(ctx, agentui.AgentTopic(ev.AgentID), agentui.OfferFrame(p.console.offer(ctx, conv, ev.At, ev.Deadline)))
	case routing.EventDeclined, routing.EventExpired:
		reason := "timeout"
		if ev.Type == routing.EventDeclined {
			reason = "declined"
		}
		if err := p.convs.OnOfferLapsed(ctx, ev.ConversationID, ev.AgentID, reason, ev.At); err != nil {
			return ignoreMissing(err)
		}
		if ev.Type == routing.EventExpired {
			// A declining console removed the offer itself.
			p.publish(ctx, agentui.AgentTopic(ev.AgentID), agentui.OfferRevokedFrame(ev.ConversationID, agentui.RevokedTimeout))
		}
	case routing.EventAccepted:
		if err := p.convs.OnAccepted(ctx, ev.ConversationID, ev.AgentID, ev.At); err != nil {
			return ignoreMissing(err)
		}
		conv, err := p.convs.Conversation(ctx, ev.ConversationID)
		if err != nil {
			return ignoreMissing(err)
		}
		p.publish(ctx, agentui.AgentTopic(ev.AgentID), agentui.AssignedFrame(p.console.assigned(ctx, conv)))
		if p.chat != nil && conv.Channel == conversation.ChannelChat {
			name := ev.AgentID
			if a, err := p.engine.Agent(ctx, ev.AgentID); err == nil && a.Name != "" {
				name = a.Name
			}
			if err := p.chat.AgentJoined(ctx, ev.ConversationID, firstName(name)); err != nil {
				p.log.Warn("tell chat visitor an agent joined", "conv", ev.ConversationID, "err", err)
			}
		}
	case routing.EventClosed:
		// Closes made through the conversation service are recorded there
		// already; OnClosed is a no-op for them.
		if err := p.convs.OnClosed(ctx, ev.ConversationID, ev.AgentID, "", ev.At); err != nil {
			return ignoreMissing(err)
		}
		p.closed(ctx, ev, "agent", webchat.ClosedByAgent)
	case routing.EventAbandoned:
		if err := p.convs.OnAbandoned(ctx, ev.ConversationID, ev.At); err != nil {
			return ignoreMissing(err)
		}
		if ev.AgentID != "" {
			p.publish(ctx, agentui.AgentTopic(ev.AgentID), agentui.OfferRevokedFrame(ev.ConversationID, agentui.RevokedCancelled))
		}
		p.closed(ctx, ev, "customer", webchat.ClosedAbandoned)
	case routing.EventTransferred:
		// The conversation service recorded the transfer it asked for; the
		// consoles still need to hear of it.
		if ev.FromAgent != "" && ev.FromAgent != ev.AgentID {
			p.publish(ctx, agentui.AgentTopic(ev.FromAgent), agentui.UnassignedFrame(ev.ConversationID, "transferred"))
		}
		p.queueChanged(ctx, ev)
	case routing.EventEnqueued, routing.EventOverflowed:
		p.queueChanged(ctx, ev)
	case routing.EventAgentState:
		p.publish(ctx, agentui.AgentTopic(ev.AgentID), agentui.StateFrame(agentui.AgentState{State: string(ev.State), Reason: ev.Reason, Since: ev.At}))
	}
	return nil
}

func (p *projector) closed(ctx context.Context, ev routing.Event, by, chatReason string) {
	conv, err := p.convs.Conversation(ctx, ev.ConversationID)
	if err != nil {
		return
	}
	if conv.Disposition == dispositionCustomerEnded {
		by, chatReason = "customer", webchat.ClosedByCustomer
	}
	p.publish(ctx, agentui.ConvTopic(ev.ConversationID), agentui.ConversationClosedFrame(ev.ConversationID, by, conv.Disposition, ev.At))
	if p.chat != nil && conv.Channel == conversation.ChannelChat {
		if err := p.chat.Closed(ctx, ev.ConversationID, chatReason); err != nil {
			p.log.Warn("tell chat visitor the chat closed", "conv", ev.ConversationID, "err", err)
		}
	}
}

// queueChanged refreshes a waiting chat visitor's place in line at once
// instead of at the widget's next poll.
func (p *projector) queueChanged(ctx context.Context, ev routing.Event) {
	if p.chat == nil || ev.Channel != string(conversation.ChannelChat) || ev.ConversationID == "" {
		return
	}
	if err := p.chat.QueueChanged(ctx, ev.ConversationID, ev.Queue); err != nil {
		p.log.Debug("refresh chat queue position", "conv", ev.ConversationID, "err", err)
	}
}

func (p *projector) publish(ctx context.Context, topic string, frame []byte) {
	if err := p.hub.Publish(ctx, topic, frame); err != nil {
		// A lost frame is repaired by the client's resume; an offer that
		// never rang lapses and is offered again.
		p.log.Warn("publish frame", "topic", topic, "err", err)
	}
}

// ignoreMissing drops events about conversations the conversation service
// does not know (routed by the load generator, or expired): retrying them
// forever would block nothing but fill the log.
func ignoreMissing(err error) error {
	if errors.Is(err, conversation.ErrNotFound) {
		return nil
	}
	return err
}

// transcriptNotifier pushes every transcript append to the consoles that
// watch the conversation. The gateway that appended publishes, once.
type transcriptNotifier struct {
	hub     *realtime.Hub
	convs   *conversation.Service // set once the service exists
	console *consoleBackend       // names authors; set with convs
	log     *slog.Logger
}

func (n *transcriptNotifier) Notify(ctx context.Context, convID string, e conversation.Entry) {
	var frame []byte
	if e.Type == conversation.EntryStatus {
		errText := e.ErrorText
		if e.ErrorCode != "" && errText != "" {
			errText = e.ErrorCode + ": " + errText
		}
		// Consoles know a reply by its transcript entry id.
		id := e.MessageID
		if m, err := n.convs.Message(ctx, e.MessageID); err == nil && m.EntryID != "" {
			id = m.EntryID
		}
		frame = agentui.MessageStatusFrame(convID, id, consoleStatus(e.Status), errText)
	} else {
		frame = agentui.MessageFrame(n.console.message(ctx, convID, e))
	}
	if err := n.hub.Publish(ctx, agentui.ConvTopic(convID), frame); err != nil {
		n.log.Warn("publish transcript entry", "conv", convID, "err", err)
	}
}
