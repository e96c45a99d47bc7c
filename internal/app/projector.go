package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

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
	OfferReturned(ctx context.Context, convID, queue string) error
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
		if p.chat != nil && ev.Channel == string(conversation.ChannelChat) {
			// The customer hears that they keep their place, instead of
			// silence until routing offers it again.
			if err := p.chat.OfferReturned(ctx, ev.ConversationID, ev.Queue); err != nil {
				p.log.Debug("tell chat visitor the offer lapsed", "conv", ev.ConversationID, "err", err)
			}
		}
	case routing.EventAccepted:
		if err := p.convs.OnAccepted(ctx, ev.ConversationID, ev.AgentID, ev.At); err != nil {
			return ignoreMissing(err)
		}
		conv, err := p.convs.Conversation(ctx, ev.ConversationID)
		if err != nil {
			return ignoreMissing(err)
		}
		// The customer hears who joined before the agent can reply.
		if p.chat != nil && conv.Channel == conversation.ChannelChat {
			if err := p.chat.AgentJoined(ctx, ev.ConversationID, firstName(p.console.agentName(ctx, ev.AgentID))); err != nil {
				p.log.Warn("tell chat visitor an agent joined", "conv", ev.ConversationID, "err", err)
			}
		}
		p.publish(ctx, agentui.AgentTopic(ev.AgentID), agentui.AssignedFrame(p.console.assigned(ctx, conv)))
	case routing.EventClosed:
		return p.repairClose(ctx, ev)
	case routing.EventAbandoned:
		// Abandons too are recorded by the service; OnAbandoned repairs one
		// whose gateway died between the two steps and is a no-op otherwise.
		if err := p.convs.OnAbandoned(ctx, ev.ConversationID, ev.At); err != nil {
			return ignoreMissing(err)
		}
		if ev.AgentID != "" {
			p.publish(ctx, agentui.AgentTopic(ev.AgentID), agentui.OfferRevokedFrame(ev.ConversationID, agentui.RevokedCancelled))
		}
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

// closeRepairAfter is how long a close routing made may stay unrecorded on
// the conversation before the projector records it itself.
const closeRepairAfter = 10 * time.Second

// errClosePending defers a close event until the conversation service has
// recorded it, or until it is clear that it never will.
var errClosePending = errors.New("close not recorded yet")

// repairClose makes sure a close routing made reaches the conversation
// record. Every close goes through the conversation service, which records
// it with its disposition right after routing lets go, so normally there
// is nothing to do; recording it here at once would race the service and
// could lose the disposition. Only when the gateway that closed died in
// between does the record stay open: then, after closeRepairAfter, this
// records the close, so the customer's next message opens a new
// conversation instead of joining a dead one.
func (p *projector) repairClose(ctx context.Context, ev routing.Event) error {
	for wait := 0; wait < 30; wait++ {
		conv, err := p.convs.Conversation(ctx, ev.ConversationID)
		if err != nil {
			return ignoreMissing(err)
		}
		if !conv.Open() {
			return nil
		}
		if time.Since(ev.At) > closeRepairAfter {
			return ignoreMissing(p.convs.OnClosed(ctx, ev.ConversationID, ev.AgentID, "closed by routing", ev.At))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Handed out again after the group's claim time, by which the repair
	// window has passed.
	return errClosePending
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
// does not know (routed by the load generator, or expired) or has closed
// meanwhile (a chat ended as the offer was made): retrying them would
// change nothing and fill the log.
func ignoreMissing(err error) error {
	if errors.Is(err, conversation.ErrNotFound) || errors.Is(err, conversation.ErrClosed) {
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
	chat    chatEvents            // nil when web chat is off
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
		frame = agentui.MessageFrame(n.console.message(ctx, convID, e, n.console.names()))
	}
	if err := n.hub.Publish(ctx, agentui.ConvTopic(convID), frame); err != nil {
		n.log.Warn("publish transcript entry", "conv", convID, "err", err)
	}
	if e.Type == conversation.EntrySystem && (e.Event == "closed" || e.Event == "abandoned") {
		n.closed(ctx, convID, e)
	}
}

// closed tells the consoles and the chat widget that a conversation ended.
// It follows the transcript's closing entry, which is written once and
// after the record holds the disposition.
func (n *transcriptNotifier) closed(ctx context.Context, convID string, e conversation.Entry) {
	conv, err := n.convs.Conversation(ctx, convID)
	if err != nil {
		n.log.Warn("closed conversation", "conv", convID, "err", err)
		return
	}
	by, chatReason := e.AgentID, webchat.ClosedByAgent
	switch {
	case e.Event == "abandoned":
		by, chatReason = "customer", webchat.ClosedAbandoned
	case conv.Disposition == dispositionCustomerEnded:
		by, chatReason = "customer", webchat.ClosedByCustomer
	case by == "":
		by = "system"
	}
	if err := n.hub.Publish(ctx, agentui.ConvTopic(convID), agentui.ConversationClosedFrame(convID, by, conv.Disposition, e.At)); err != nil {
		n.log.Warn("publish conversation closed", "conv", convID, "err", err)
	}
	if n.chat != nil && conv.Channel == conversation.ChannelChat {
		if err := n.chat.Closed(ctx, convID, chatReason); err != nil {
			n.log.Warn("tell chat visitor the chat closed", "conv", convID, "err", err)
		}
	}
}
