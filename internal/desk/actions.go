package desk

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/routing"
)

// Conversation returns the conversation record if who may see it.
func (d *Desk) Conversation(ctx context.Context, who Actor, convID string) (conversation.Conversation, error) {
	a, err := d.authorize(ctx, who, See, convID)
	return a.conv, err
}

// Accept takes an open offer; ErrOfferGone when it lapsed or was taken.
func (d *Desk) Accept(ctx context.Context, who Actor, convID string) error {
	if _, err := d.authorize(ctx, who, Accept, convID); err != nil {
		return err
	}
	return mapErr(d.engine.Accept(ctx, convID, who.AccountID))
}

// Decline hands an offer back to routing, which puts the conversation back
// at its place in line.
func (d *Desk) Decline(ctx context.Context, who Actor, convID string) error {
	if _, err := d.authorize(ctx, who, Decline, convID); err != nil {
		return err
	}
	if err := d.engine.Decline(ctx, convID, who.AccountID); err != nil {
		return mapErr(err)
	}
	// At once, not only when the declined event is handled: every console
	// of the agent, not just the one that declined.
	d.consoles.Revoke(ctx, who.AccountID, convID)
	return nil
}

// Reply sends text (and stored attachments) to the customer on the
// conversation's channel, through the outbox.
func (d *Desk) Reply(ctx context.Context, who Actor, convID, text string, atts []channel.Attachment) (conversation.Entry, error) {
	if _, err := d.authorize(ctx, who, Reply, convID); err != nil {
		return conversation.Entry{}, err
	}
	e, err := d.convs.Reply(ctx, convID, who.AccountID, text, atts)
	return e, mapErr(err)
}

// Note adds an internal note the customer never sees.
func (d *Desk) Note(ctx context.Context, who Actor, convID, text string) (conversation.Entry, error) {
	if _, err := d.authorize(ctx, who, Note, convID); err != nil {
		return conversation.Entry{}, err
	}
	e, err := d.convs.Note(ctx, convID, who.AccountID, text)
	return e, mapErr(err)
}

// dispositionCustomerEnded closes a conversation the customer ended after
// an agent had taken it.
const dispositionCustomerEnded = conversation.DispositionCustomerEnded

// Close ends the conversation with a disposition ("resolved" when empty).
// who is recorded as the closer; routing frees the slot of whoever holds
// it, so a supervisor closing an agent's conversation frees that agent.
func (d *Desk) Close(ctx context.Context, who Actor, convID, disposition string) (conversation.Conversation, error) {
	if len(disposition) > 64 {
		return conversation.Conversation{}, fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "disposition", Reason: "at most 64 characters"})
	}
	a, err := d.authorize(ctx, who, Close, convID)
	if err != nil {
		return conversation.Conversation{}, err
	}
	if !a.s.Open() {
		return a.conv, nil
	}
	if disposition == "" {
		disposition = "resolved"
	}
	return d.closeHeld(ctx, a.conv, a.held, a.waiting, who.AccountID, disposition)
}

// close lets routing go of the conversation for whoever holds it, then
// records the close by closer with its disposition.
func (d *Desk) close(ctx context.Context, conv conversation.Conversation, closer, disposition string) (conversation.Conversation, error) {
	h := d.readHold(conv.ID)
	return d.closeHeld(ctx, conv, d.heldFrom(ctx, conv, h), h.waiting, closer, disposition)
}

// closeHeld is close for a caller that read who holds conv (authorize),
// and perhaps whether it waits for a promise (waiting).
func (d *Desk) closeHeld(ctx context.Context, conv conversation.Conversation, hd held,
	waiting *promise.WaitingRead, closer, disposition string) (conversation.Conversation, error) {
	holder, st := hd.agent, hd.state
	// From routing's close to the record's, routing's closed event, if
	// handled here, waits for the record instead of reading it.
	defer d.closedHere.begin(conv.ID)()
	from := conversation.FromHandled
	switch st {
	case routing.ConvActive:
		// One waiting for a promise is not routing's to close any more.
		if !d.waited(ctx, conv.ID, waiting) {
			accepted, err := d.engine.CloseHeld(ctx, conv.ID, holder)
			if err != nil {
				return conversation.Conversation{}, mapErr(err)
			}
			// The accept routing closed, which is the one read before only
			// when no transfer and accept came in between.
			if !accepted.IsZero() {
				hd.accepted = accepted
			}
		}
	case routing.ConvWaiting, routing.ConvOffered:
		if closer == "" {
			// The customer ending it as routing gave it back to the queue
			// (CustomerEnded read it active a moment before): their
			// abandon, as when it had waited all along, so it is one
			// conversation.abandoned and no close.
			aerr := d.convs.Abandon(ctx, conv.ID)
			out, err := d.convs.Conversation(ctx, conv.ID)
			if aerr != nil && (err != nil || out.Open()) {
				// Still open: the abandon's failure stands. A record closed
				// meanwhile (the customer left another way, an agent's
				// close won) is the answer.
				return conversation.Conversation{}, mapErr(aerr)
			}
			return out, mapErr(err)
		}
		// Closed before anyone took it (spam a supervisor closes from the
		// queue): routing forgets it; the offered agent's console is told.
		// Routing reports that as abandoned; the mark keeps the gateway
		// that handles the report from recording the customer's leaving
		// over this close's disposition. The cause keeps the figures and
		// webhooks from taking it for a customer's abandon.
		from = conversation.FromWaiting
		if st == routing.ConvOffered {
			from = conversation.FromOffered
		}
		if err := d.convs.MarkClosing(ctx, conv.ID); errors.Is(err, conversation.ErrClosed) {
			// Closed meanwhile (the customer left): routing has let go
			// already, as it always does before the record.
			out, err := d.convs.Conversation(ctx, conv.ID)
			return out, mapErr(err)
		} else if err != nil {
			return conversation.Conversation{}, mapErr(err)
		}
		if err := ignoreGone(d.engine.Abandon(ctx, conv.ID, routing.CauseClosed)); err != nil {
			return conversation.Conversation{}, mapErr(err)
		}
	default:
		// Routing's state is another (wrap-up, or it let go already): the
		// conversation service settles it with routing as it closes.
		out, err := d.convs.CloseWith(ctx, conv.ID, conversation.Closing{Holder: holder, HolderAccepted: hd.accepted, By: closer, Disposition: disposition})
		return out, mapErr(err)
	}
	// Routing has let go above: only the record is left to close (asking
	// routing again would cost a failed close and a read per conversation).
	// Where routing had it, and with whom, the record may not know yet.
	c := conversation.Closing{Holder: holder, By: closer, Disposition: disposition, From: from}
	if from == conversation.FromHandled {
		c.HolderAccepted = hd.accepted
	}
	out, err := d.convs.RecordClose(ctx, conv.ID, c)
	return out, mapErr(err)
}

// Transfer moves the conversation to a queue or, when toAgent is set, to
// that agent (who gets it as an offer).
func (d *Desk) Transfer(ctx context.Context, who Actor, convID, queue, toAgent string) (conversation.Conversation, error) {
	a, err := d.authorize(ctx, who, Transfer, convID)
	if err != nil {
		return conversation.Conversation{}, err
	}
	from := a.agent
	out, err := d.convs.Transfer(ctx, a.conv, conversation.TransferRequest{ConversationID: convID, FromAgentID: from, ToQueue: queue, ToAgentID: toAgent})
	if err != nil {
		return conversation.Conversation{}, mapErr(err)
	}
	d.revokeMoved(ctx, convID, from, toAgent)
	return out, nil
}

// Assign is a supervisor's force-assign: the conversation is offered to
// agentID at once, whoever had it. An agent whose open offer is taken away
// is told so; one whose accepted conversation is taken hears of it from
// the transfer event.
func (d *Desk) Assign(ctx context.Context, who Actor, convID, agentID string) error {
	a, err := d.authorize(ctx, who, Assign, convID)
	if err != nil {
		return err
	}
	before, s := a.agent, a.s
	if _, err := d.convs.Transfer(ctx, a.conv, conversation.TransferRequest{ConversationID: convID, FromAgentID: before, ToAgentID: agentID}); err != nil {
		return mapErr(err)
	}
	d.revokeMoved(ctx, convID, before, agentID)
	if (s == OfferedToOther || s == OfferedToMe) && before != "" && before != agentID {
		d.consoles.OfferRevoked(ctx, before, convID, RevokedTaken)
	}
	return nil
}

// revokeMoved ends the previous holder's access to a conversation just
// moved to another agent or a queue, at once: the transferred event does
// it too (accessEnds), but only when a gateway handles it, and a customer
// line written in between must not reach the agent who lost it.
func (d *Desk) revokeMoved(ctx context.Context, convID, from, to string) {
	if from != "" && from != to {
		d.consoles.Revoke(ctx, from, convID)
	}
}

// Typing tells the customer's side that the agent is (on) or stopped (off)
// typing. Channels without typing indicators ignore it.
func (d *Desk) Typing(ctx context.Context, who Actor, convID string, on bool) error {
	a, err := d.authorize(ctx, who, Reply, convID)
	if err != nil {
		return err
	}
	conv := a.conv
	o := d.observer(conv.Channel)
	if o == nil {
		return nil
	}
	return o.Observe(ctx, channelEvent(conv, eventTyping(who.AccountID, d.shownName(ctx, who.AccountID), on)))
}

// Entries returns up to limit transcript entries after afterID, oldest first.
func (d *Desk) Entries(ctx context.Context, who Actor, convID, afterID string, limit int) ([]conversation.Entry, error) {
	if _, err := d.authorize(ctx, who, See, convID); err != nil {
		return nil, err
	}
	entries, err := d.convs.Transcript(ctx, convID, afterID, limit)
	return entries, mapErr(err)
}

// Transcript reads up to limit transcript entries after afterID ("" from
// the start) and returns them as the console shows them. Each entry is
// read once: a long transcript is read page by page, never whole.
func (d *Desk) Transcript(ctx context.Context, who Actor, convID, afterID string, limit int) (TranscriptPage, error) {
	entries, err := d.Entries(ctx, who, convID, afterID, limit)
	if err != nil {
		return TranscriptPage{}, err
	}
	page := TranscriptPage{Messages: make([]Message, 0, len(entries)), Next: afterID, More: limit > 0 && len(entries) >= limit}
	nm := d.names()
	for _, e := range entries {
		page.Next = e.ID
		if e.Type == conversation.EntryStatus {
			continue // message() reads the reply's current status instead
		}
		page.Messages = append(page.Messages, d.message(ctx, convID, e, nm))
	}
	return page, nil
}

// View converts a transcript entry of convID for the console, as it was
// just written: a reply shows the status it was written with (its later
// statuses follow as their own frames), not one read again.
func (d *Desk) View(ctx context.Context, convID string, e conversation.Entry) Message {
	if e.Type == conversation.EntryAgent && e.Status != "" {
		m := toMessage(convID, e)
		m.Author, m.Status = d.names().agent(ctx, e.Author), consoleStatus(e.Status)
		return m
	}
	return d.message(ctx, convID, e, d.names())
}

// MessageRecord returns a sent or received message if who may see its
// conversation.
func (d *Desk) MessageRecord(ctx context.Context, who Actor, id string) (conversation.Message, error) {
	m, err := d.convs.Message(ctx, id)
	if err != nil {
		return conversation.Message{}, mapErr(err)
	}
	if _, err := d.authorize(ctx, who, See, m.ConversationID); err != nil {
		return conversation.Message{}, err
	}
	return m, nil
}

// SetAgentState changes agentID's availability. Agents change their own;
// supervisors anyone's (a supervisor setting an agent away takes their
// open offers back to the queue).
func (d *Desk) SetAgentState(ctx context.Context, who Actor, agentID, state, reason string) error {
	if agentID != who.AccountID && !who.supervises() {
		return fmt.Errorf("desk: set state of %s: %w", agentID, ErrForbidden)
	}
	var st routing.AgentState
	switch state {
	case StateAvailable:
		st = routing.StateAvailable
	case StateAway:
		st = routing.StateAway
	case StateOffline:
		st = routing.StateOffline
	default:
		return fmt.Errorf("%w: state %q", ErrInvalid, state)
	}
	if agentID == who.AccountID {
		if _, err := d.ensureAgent(ctx, agentID); err != nil {
			return mapErr(err)
		}
	}
	return mapErr(d.engine.SetAgentState(ctx, agentID, st, reason))
}

// Heartbeat records that who's console is alive. Presence comes from
// heartbeats with a grace period, not from the socket, so a reconnect does
// not make an agent flap offline.
func (d *Desk) Heartbeat(ctx context.Context, who Actor) error {
	return mapErr(d.engine.Heartbeat(ctx, who.AccountID))
}

// Queues lists the queues a conversation can be transferred to.
func (d *Desk) Queues(context.Context) ([]string, error) {
	var out []string
	for _, q := range d.engine.Queues() {
		out = append(out, q.Name)
	}
	return out, nil
}

// Agents lists the agents a conversation can be transferred to.
func (d *Desk) Agents(ctx context.Context) ([]AgentSummary, error) {
	list, err := d.engine.Agents(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AgentSummary, 0, len(list))
	for _, a := range list {
		out = append(out, AgentSummary{ID: a.ID, Name: a.Name, State: string(a.State)})
	}
	return out, nil
}

// CannedReplies lists the saved replies offered by the "/" search.
func (d *Desk) CannedReplies(context.Context) ([]Canned, error) { return d.canned, nil }

// ignoreGone treats "routing no longer knows it" as done: the conversation
// service calls again after crashes, and the first call may have finished.
func ignoreGone(err error) error {
	if errors.Is(err, routing.ErrNotFound) {
		return nil
	}
	return err
}
