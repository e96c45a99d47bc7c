package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/internal/recovery"
	"github.com/switchboard/switchboard/internal/survey"
)

// Surveys is what the desk needs of the satisfaction survey
// (internal/survey): to hear of closes, and to read replies first.
type Surveys interface {
	// Closed schedules the survey of a conversation just closed.
	Closed(ctx context.Context, conv conversation.Conversation, agentName string) error
	// Reply records a rating an inbound message gives; Consumed says the
	// message was a bare rating and must open no conversation.
	Reply(ctx context.Context, in channel.Inbound) (survey.Match, error)
	// EndWindow ends the survey reply window of an address that opened a
	// conversation: from then on its digits are answers to the agent.
	EndWindow(ctx context.Context, ch channel.Name, address string) error
}

// Recoveries is what the desk needs of service recovery
// (internal/recovery): a customer's open case and the agent's note on it.
type Recoveries interface {
	Active(ctx context.Context, customerID string) (recovery.Case, bool, error)
	Note(ctx context.Context, customerID, agentID, text string) (recovery.Case, error)
	Raise(ctx context.Context, customerID string, r recovery.Reason) error
}

// PromiseBroken starts service recovery for the customer of a promise
// cancelled unresolved, as a bad rating does: the promise package calls it
// once per broken promise (promise.Service.OnBroken).
func (d *Desk) PromiseBroken(ctx context.Context, p promise.Promise) {
	if d.recovery == nil {
		return
	}
	at := p.ResolvedAt
	if at.IsZero() {
		at = time.Now()
	}
	err := d.recovery.Raise(ctx, p.CustomerID, recovery.Reason{Kind: recovery.ReasonPromise, ConversationID: p.ConversationID,
		AgentID: p.AgentID, Queue: p.Queue, Channel: p.Channel, Text: p.What, At: at})
	if err != nil {
		d.log.Warn("desk: broken promise raised no recovery", "promise", p.ID, "customer", p.CustomerID, "err", err)
	}
}

// RecoveryBanner is what the console shows on a conversation of a
// customer in service recovery.
type RecoveryBanner struct {
	// Kind is why: "rating" or "broken_promise".
	Kind string `json:"kind"`
	// Text is the banner in words: "rated 1/5 on 3 Dec — slow answer".
	Text           string    `json:"text"`
	ConversationID string    `json:"conv"`
	Score          int       `json:"score,omitempty"`
	Comment        string    `json:"comment,omitempty"`
	At             time.Time `json:"at"`
	Until          time.Time `json:"until"`
	// Note is what an agent recorded having done, once they did.
	Note    string `json:"note,omitempty"`
	NotedBy string `json:"noted_by,omitempty"`
}

// receiveSurveyReply lets the survey read an inbound first. A survey that
// cannot be read never loses the message: it goes on as a message.
func (d *Desk) receiveSurveyReply(ctx context.Context, in channel.Inbound) (channel.Receipt, bool) {
	if d.surveys == nil {
		return channel.Receipt{}, false
	}
	m, err := d.surveys.Reply(ctx, in)
	if err != nil {
		d.log.Warn("desk: survey reply", "channel", in.Channel, "err", err)
		return channel.Receipt{}, false
	}
	if !m.Consumed {
		return channel.Receipt{}, false
	}
	return channel.Receipt{ConversationID: m.ConversationID, CustomerID: m.CustomerID}, true
}

// afterReceive ends a survey window once the customer opened a new
// conversation on the same address. A window is only ever open for a
// customer who had a conversation before (Receipt.Returning, read with the
// message), so a first contact costs nothing here.
func (d *Desk) afterReceive(ctx context.Context, in channel.Inbound, r channel.Receipt) {
	if d.surveys == nil || !r.NewConversation || !r.Returning {
		return
	}
	addr, err := conversation.NormalizeAddress(in.Channel, in.From)
	if err != nil {
		return
	}
	if err := d.surveys.EndWindow(ctx, in.Channel, addr); err != nil {
		d.log.Warn("desk: end survey window", "channel", in.Channel, "err", err)
	}
}

// Aftercare follows every closed conversation up (its survey) from the
// conversation service's event stream, where the close's own script wrote
// it. So a gateway that recorded a close and died before telling anyone
// loses no follow-up, and an agent's close does not wait for one.
type Aftercare struct {
	Desk *Desk
	// Consumer names this gateway in the group; unique per process.
	Consumer string
}

// aftercareClaimAfter is how long a close read by a gateway that died
// stays with it before another gateway takes it. Short, because the
// stream is capped (a few hundred contacts a second trim it in under a
// minute) and a close trimmed before it is taken is never followed up;
// and it can be, because following a close up twice (a gateway only slow,
// not dead) schedules one survey all the same.
const aftercareClaimAfter = 5 * time.Second

// Run follows closes up until ctx ends.
func (a Aftercare) Run(ctx context.Context) error {
	return a.Desk.convs.Consume(ctx, "aftercare", a.Consumer, aftercareClaimAfter, a.Desk.afterEvent)
}

// afterEvent is Aftercare's handler: an error leaves the event to be
// handed out again; the survey schedules once however often it is asked.
func (d *Desk) afterEvent(ctx context.Context, ev conversation.Event) error {
	if ev.Type != conversation.EventConversationClosed || d.surveys == nil || ev.AgentID == "" {
		return nil
	}
	conv := conversation.Conversation{ID: ev.ConversationID, Channel: ev.Channel, CustomerID: ev.CustomerID,
		CustomerAddress: ev.CustomerAddress, OurAddress: ev.OurAddress, Queue: ev.Queue, ThreadHint: ev.ThreadHint,
		State: conversation.StateClosed, AgentID: ev.AgentID, Disposition: ev.Disposition, ClosedFrom: ev.From, ClosedAt: ev.At}
	if conv.CustomerAddress == "" {
		// Written by a gateway from before the entry carried addresses
		// (a rolling upgrade): the record has them. A record reopened
		// since has no disposition, and gets no survey for this close.
		rec, err := d.convs.Conversation(ctx, ev.ConversationID)
		if err != nil {
			return ignoreMissing(err)
		}
		conv = rec
	}
	if err := d.surveys.Closed(ctx, conv, d.shownName(ctx, conv.AgentID)); err != nil {
		if ctx.Err() == nil { // a gateway stopping leaves it to the next without a warning
			d.log.Warn("desk: schedule survey; it will be retried", "conv", conv.ID, "err", err)
		}
		return err
	}
	return nil
}

// recoveryBanner is the banner for conv when its customer (cust, as read
// for the offer or conversation; custErr when that read failed) is in
// recovery for another conversation; nil otherwise. Only a customer
// carrying the recovery tag can have a case (Raise tags them, the case
// ending takes it off), so every other offer costs no look-up.
func (d *Desk) recoveryBanner(ctx context.Context, conv conversation.Conversation, cust conversation.Customer, custErr error) *RecoveryBanner {
	if d.recovery == nil || (custErr == nil && !slices.Contains(cust.Tags, recovery.Tag)) {
		return nil
	}
	c, ok, err := d.recovery.Active(ctx, conv.CustomerID)
	if err != nil || !ok || c.ConversationID == conv.ID {
		return nil
	}
	return bannerOf(c, d.loc)
}

func bannerOf(c recovery.Case, loc *time.Location) *RecoveryBanner {
	if loc == nil {
		loc = time.UTC
	}
	b := &RecoveryBanner{Kind: c.Kind, ConversationID: c.ConversationID, Score: c.Score, Comment: c.Comment,
		At: c.At, Until: c.Until, Note: c.Note, NotedBy: c.NotedBy}
	day := c.At.In(loc).Format("2 Jan")
	switch c.Kind {
	case recovery.ReasonRating:
		b.Text = "rated " + strconv.Itoa(c.Score) + "/5 on " + day
		if c.Comment != "" {
			b.Text += " — " + c.Comment
		}
	case recovery.ReasonPromise:
		b.Text = "promise broken on " + day
		if c.Text != "" {
			b.Text += " — " + c.Text
		}
	case recovery.ReasonMissedCallback:
		b.Text = "callback missed on " + day
		if c.Text != "" {
			b.Text += " — " + c.Text
		}
	default:
		b.Text = c.Kind + " on " + day
	}
	return b
}

// RecoveryNote records what the agent did for a customer in service
// recovery, on the conversation they serve: the case keeps the note (the
// banner shows it) and the transcript gets it as an internal note.
func (d *Desk) RecoveryNote(ctx context.Context, who Actor, convID, text string) (*RecoveryBanner, error) {
	if d.recovery == nil {
		return nil, fmt.Errorf("%w: service recovery is off", ErrInvalid)
	}
	if text == "" || len(text) > 2000 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "text", Reason: "1 to 2000 characters"})
	}
	a, err := d.authorize(ctx, who, Note, convID)
	if err != nil {
		return nil, err
	}
	c, err := d.recovery.Note(ctx, a.conv.CustomerID, who.AccountID, text)
	if err != nil {
		if errors.Is(err, recovery.ErrNoCase) {
			return nil, fmt.Errorf("%w: the customer has no open recovery case", ErrInvalid)
		}
		return nil, err
	}
	if _, err := d.convs.Note(ctx, convID, who.AccountID, "Service recovery: "+text); err != nil {
		return nil, mapErr(err)
	}
	return bannerOf(c, d.loc), nil
}
