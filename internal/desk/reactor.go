package desk

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/routing"
)

// Reactor is the background component that feeds routing's events to the
// desk (React) through the "gateway" consumer group, so each event is
// handled once across all gateways.
type Reactor struct {
	Desk *Desk
	// Consumer names this gateway in the group; unique per process.
	Consumer string
}

// Run consumes routing events until ctx ends.
func (r Reactor) Run(ctx context.Context) error {
	return r.Desk.engine.Consume(ctx, routing.ConsumeParams{Group: "gateway", Consumer: r.Consumer, Handle: r.Desk.React})
}

// React brings one routing event to its consequences. The wiring runs it
// as the handler of a routing consumer group, so each event is handled
// once across all gateways: the conversation record and transcript learn
// of it, the consoles concerned get a frame, and the conversation's channel
// (when it observes) gets a channel.Event. An error leaves the event
// pending; the group hands it out again later.
func (d *Desk) React(ctx context.Context, ev routing.Event) error {
	if lost := accessEnds(ev); lost != "" && ev.ConversationID != "" {
		// Before any frame or record: the agent's consoles stop receiving
		// the conversation now, whatever else this event leads to.
		d.consoles.Revoke(ctx, lost, ev.ConversationID)
	}
	switch ev.Type {
	case routing.EventOffered:
		conv, beside, err := d.convs.OfferedBeside(ctx, ev.ConversationID, ev.AgentID, ev.At, besideLines)
		if err != nil {
			return ignoreMissing(err)
		}
		d.consoles.Offer(ctx, ev.AgentID, d.offer(ctx, conv, beside, ev.At, ev.Deadline))
		d.observe(ctx, conv, channel.Event{Type: channel.EventOffered, AgentID: ev.AgentID, Deadline: ev.Deadline, At: ev.At})
	case routing.EventDeclined, routing.EventExpired:
		reason := ev.Reason
		switch {
		case ev.Type == routing.EventDeclined:
			reason = "declined"
		case reason == "":
			reason = "timeout"
		}
		if err := d.convs.OnOfferLapsed(ctx, ev.ConversationID, ev.AgentID, reason, ev.At); err != nil {
			return ignoreMissing(err)
		}
		switch {
		case reason == "missed":
			// Accepted, but the agent could not be reached (Missed).
			d.consoles.Unassigned(ctx, ev.AgentID, ev.ConversationID, "missed")
		case ev.Type == routing.EventExpired:
			// A declining console removed the offer itself.
			d.consoles.OfferRevoked(ctx, ev.AgentID, ev.ConversationID, RevokedTimeout)
		}
		d.observeEvent(ctx, ev, channel.Event{Type: channel.EventOfferLapsed, AgentID: ev.AgentID, Reason: reason})
	case routing.EventAccepted:
		conv, beside, err := d.convs.AcceptedBeside(ctx, ev.ConversationID, ev.AgentID, ev.At, besideLines)
		if err != nil {
			return ignoreMissing(err)
		}
		// The customer hears who joined before the agent can reply.
		d.observe(ctx, conv, channel.Event{Type: channel.EventAccepted, AgentID: ev.AgentID,
			AgentName: d.shownName(ctx, ev.AgentID), Wait: ev.Wait, At: ev.At})
		d.consoles.Assigned(ctx, ev.AgentID, d.assigned(ctx, conv, beside))
	case routing.EventClosed:
		return d.repairClose(ctx, ev)
	case routing.EventStarted:
		return d.repairStart(ctx, ev)
	case routing.EventAbandoned:
		// A supervisor closing a waiting conversation (spam) makes routing
		// abandon it; recorded as abandoned first, it would lose the
		// disposition the close is recording here. So, like a closed
		// event, it waits for a close under way here.
		d.closedHere.await(ctx, ev.ConversationID, closeAwait)
		// Abandons too are recorded by the conversation service;
		// OnRoutingAbandoned repairs one whose gateway died between the
		// two steps, is a no-op on a closed record, and holds the event
		// while a close is marked (below). The channel hears of it from
		// the transcript's closing line (Notify).
		err := d.convs.OnRoutingAbandoned(ctx, ev.ConversationID, staffClosedFrom(ev), ev.At)
		if err != nil && !errors.Is(err, conversation.ErrCloseUnderWay) {
			return ignoreMissing(err)
		}
		if ev.AgentID != "" {
			d.consoles.OfferRevoked(ctx, ev.AgentID, ev.ConversationID, RevokedCancelled)
		}
		if err != nil {
			// A close marked on the record (by another gateway, or by
			// this one past closeAwait) made routing abandon it. Handed
			// out again after the group's claim time, the record is
			// closed, or, the close having died, the abandon goes in.
			return routing.ErrRetryLater
		}
	case routing.EventTransferred:
		// The conversation service recorded the transfer it asked for; the
		// consoles still need to hear of it.
		if ev.FromAgent != "" && ev.FromAgent != ev.AgentID {
			d.consoles.Unassigned(ctx, ev.FromAgent, ev.ConversationID, "transferred")
		}
		d.observeEvent(ctx, ev, channel.Event{Type: channel.EventTransferred, AgentID: ev.AgentID, FromAgent: ev.FromAgent})
	case routing.EventEnqueued, routing.EventOverflowed:
		d.observeEvent(ctx, ev, channel.Event{Type: channel.EventEnqueued})
	case routing.EventAgentState:
		d.consoles.AgentState(ctx, ev.AgentID, AgentState{State: string(ev.State), Reason: ev.Reason, Since: ev.At})
	}
	return nil
}

// staffClosedFrom is where staff closed the conversation of routing's
// abandoned event from, FromHandled when the customer left.
func staffClosedFrom(ev routing.Event) conversation.CloseFrom {
	switch {
	case !ev.ClosedInQueue():
		return conversation.FromHandled
	case ev.Reason == string(conversation.FromOffered):
		return conversation.FromOffered
	}
	return conversation.FromWaiting
}

// closeRepairAfter is how long a close routing made may stay unrecorded on
// the conversation before the desk records it itself.
const closeRepairAfter = 10 * time.Second

// closeAwait bounds how long routing's closed event waits for a close this
// gateway is recording: one round trip, normally. Past it, the record is
// read as for a close made elsewhere. Short, because the event holds its
// consumer worker, and so the other conversations handled by it, while it
// waits.
const closeAwait = 500 * time.Millisecond

// repairClose makes sure a close routing made reaches the conversation
// record. Every close goes through the conversation service, which records
// it with its disposition right after routing lets go, so normally there
// is nothing to do; recording it here at once would race the service and
// could lose the disposition. Only when the gateway that closed died in
// between does the record stay open. Then the event is left pending
// (routing.ErrRetryLater): the consumer group hands it out again after its
// claim time, past closeRepairAfter, and this records the close, so the
// customer's next message opens a new conversation instead of joining a
// dead one. A close this gateway recorded itself is known without reading
// the record (closedHere); one it is recording is waited for, on a signal
// of this process, not by reading the record (closeAwait).
func (d *Desk) repairClose(ctx context.Context, ev routing.Event) error {
	d.closedHere.await(ctx, ev.ConversationID, closeAwait)
	if d.closedHere.take(ev.ConversationID, ev.At, time.Now()) {
		return nil // recorded by this gateway: nothing to repair, nothing to read
	}
	conv, err := d.convs.Conversation(ctx, ev.ConversationID)
	if err != nil {
		return ignoreMissing(err)
	}
	if !conv.Open() {
		return nil
	}
	if time.Since(ev.At) < closeRepairAfter {
		// Usually the closer records it meanwhile; asked again later, the
		// record decides (and a promise, below, if it is still open).
		return routing.ErrRetryLater
	}
	if d.waitsForPromise(ctx, ev.ConversationID) {
		// Let go by routing on purpose; its record stays open.
		return nil
	}
	c := conversation.Closing{Holder: ev.AgentID, Disposition: "closed by routing"}
	if acc := ev.At.Add(-ev.Handle); ev.Handle > 0 && acc.UnixMilli() > 0 {
		// Routing's close counted from the holder's accept, which the
		// record may not have heard of (from 0 when routing had none).
		c.HolderAccepted = acc
	}
	return ignoreMissing(d.convs.OnClosed(ctx, ev.ConversationID, c, ev.At))
}

// observeEvent tells the channel of ev's conversation, without reading the
// conversation record.
func (d *Desk) observeEvent(ctx context.Context, ev routing.Event, ce channel.Event) {
	if ev.ConversationID == "" {
		return
	}
	ce.ConversationID, ce.Channel, ce.Queue = ev.ConversationID, channel.Name(ev.Channel), ev.Queue
	if ce.At.IsZero() {
		ce.At = ev.At
	}
	d.deliver(ctx, ce)
}

// observe tells conv's channel of ce.
func (d *Desk) observe(ctx context.Context, conv conversation.Conversation, ce channel.Event) {
	d.deliver(ctx, channelEvent(conv, ce))
}

func channelEvent(conv conversation.Conversation, ce channel.Event) channel.Event {
	ce.ConversationID, ce.Channel, ce.Queue = conv.ID, conv.Channel, conv.Queue
	if ce.At.IsZero() {
		ce.At = time.Now()
	}
	return ce
}

func eventTyping(agentID, name string, on bool) channel.Event {
	return channel.Event{Type: channel.EventAgentTyping, AgentID: agentID, AgentName: name, Typing: on}
}

// deliver hands ce to its channel's observer. A channel's failure does not
// hold up routing's events: it is logged, and the channel repairs its own
// customers' view (a chat widget resumes).
func (d *Desk) deliver(ctx context.Context, ce channel.Event) {
	o := d.observer(ce.Channel)
	if o == nil {
		return
	}
	if err := o.Observe(ctx, ce); err != nil {
		d.log.Warn("desk: channel observer", "channel", ce.Channel, "event", ce.Type, "conv", ce.ConversationID, "err", err)
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

// Notify implements conversation.Notifier: every transcript append goes
// to the consoles that watch the conversation, from the gateway that
// appended it, once. The closing line also tells the consoles and the
// channel that the conversation ended; it is written once and after the
// record holds the disposition.
func (d *Desk) Notify(ctx context.Context, convID string, e conversation.Entry) {
	if e.Type == conversation.EntrySystem && e.Event == "closed" {
		// First: routing's closed event, if it waits for this close
		// (repairClose), goes on now, not after the consoles are told.
		d.closedHere.add(convID, e.At)
	}
	if e.Type == conversation.EntryStatus {
		errText := e.ErrorText
		if e.ErrorCode != "" && errText != "" {
			errText = e.ErrorCode + ": " + errText
		}
		// Consoles know a reply by its transcript entry id (the conversation
		// service hands it over with the status).
		id := e.ReplyEntryID
		if id == "" {
			id = e.MessageID
			if m, err := d.convs.Message(ctx, e.MessageID); err == nil && m.EntryID != "" {
				id = m.EntryID
			}
		}
		d.consoles.MessageStatus(ctx, convID, id, consoleStatus(e.Status), errText)
	} else {
		d.consoles.Message(ctx, d.View(ctx, convID, e))
	}
	if e.Type == conversation.EntryCustomer && e.ParkedOnce && d.promises != nil {
		// The customer wrote while the conversation waited for a promise:
		// it comes back to its agent now, not at the due time. Only a
		// conversation a pending promise parked can have one waiting
		// (MakePromise marks it first), so other messages ask nothing.
		if err := d.promises.CustomerWrote(ctx, convID); err != nil {
			d.log.Warn("desk: wake a promise", "conv", convID, "err", err)
		}
	}
	if e.Type == conversation.EntrySystem && (e.Event == "closed" || e.Event == "abandoned") {
		d.closed(ctx, convID, e)
	}
}

func (d *Desk) closed(ctx context.Context, convID string, e conversation.Entry) {
	var conv conversation.Conversation
	if e.Record != nil {
		conv = *e.Record // as the close left it, read by the closing script
	} else {
		var err error
		if conv, err = d.convs.Conversation(ctx, convID); err != nil {
			d.log.Warn("desk: closed conversation", "conv", convID, "err", err)
			return
		}
	}
	by, ce := e.AgentID, channel.Event{Type: channel.EventClosed, AgentID: e.AgentID, Reason: conv.Disposition, At: e.At}
	switch {
	case e.Event == "abandoned":
		by, ce.Type = "customer", channel.EventAbandoned
	case conv.Disposition == dispositionCustomerEnded:
		by = "customer"
	case by == "":
		by = "system"
	}
	d.consoles.Closed(ctx, convID, by, conv.Disposition, e.At)
	if conv.AgentID != "" {
		// After the closing line, which the holder's consoles show: the
		// conversation is over for them (accessEnds).
		d.consoles.Revoke(ctx, conv.AgentID, convID)
	}
	d.observe(ctx, conv, ce)
}

var _ conversation.Notifier = (*Desk)(nil)
