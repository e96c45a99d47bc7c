package conversation

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// TestAClosesEventCountsHandlingFromAnAcceptOfThisVisit: the close's
// entry on the event stream counts handle_ms from the last accept; a
// conversation reopened by a late mail and closed before anyone accepted
// it again has none (the earlier visit's accept is not this one's).
func TestAClosesEventCountsHandlingFromAnAcceptOfThisVisit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	closes := func(conv string) []Event {
		t.Helper()
		msgs, err := e.rdb.XRange(ctx, e.svc.EventsKey(), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []Event
		for _, m := range msgs {
			if ev := EventFrom(m.ID, m.Values); ev.Type == EventConversationClosed && ev.ConversationID == conv {
				out = append(out, ev)
			}
		}
		return out
	}
	mail := func(pid, hint string) channel.Inbound {
		return channel.Inbound{Channel: channel.Email, From: "dee@example.com", To: "help@us.example", Text: "x", ProviderID: pid, ThreadHint: hint}
	}
	first := mustReceive(t, e, mail("d1@dee", ""))
	if _, err := e.svc.Accepted(ctx, first.ConversationID, "ana", time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond)
	if _, err := e.svc.Close(ctx, first.ConversationID, "ana", "resolved"); err != nil {
		t.Fatal(err)
	}
	got := closes(first.ConversationID)
	if len(got) != 1 || got[0].Handle < 30*time.Millisecond || got[0].AgentID != "ana" || got[0].By != "ana" ||
		got[0].From != FromHandled || got[0].Disposition != "resolved" {
		t.Fatalf("first close's events %+v; want one, handled by ana for 30 ms or more", got)
	}

	// A late reply reopens it; a supervisor closes it before anyone takes it
	// again, as routing had it with nobody.
	if r := mustReceive(t, e, mail("d2@dee", "d1@dee")); r.ConversationID != first.ConversationID {
		t.Fatalf("late reply opened %s, want %s reopened", r.ConversationID, first.ConversationID)
	}
	if _, err := e.svc.Close(ctx, first.ConversationID, "sam", "duplicate"); err != nil {
		t.Fatal(err)
	}
	got = closes(first.ConversationID)
	if len(got) != 2 || got[1].Handle != 0 || got[1].AgentID != "" || got[1].By != "sam" || got[1].Disposition != "duplicate" {
		t.Fatalf("second close's events %+v; want no handling and no agent from the earlier visit", got)
	}
}

// TestARecordTellsItWasClosedFromTheQueueUntilReopened: a close from the
// queue leaves closed_from on the record, with the agent it was offered
// to (whom the survey must not name); a reopen clears it, so the next
// close, handled, says nothing of the queue.
func TestARecordTellsItWasClosedFromTheQueueUntilReopened(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	mail := func(pid, hint string) channel.Inbound {
		return channel.Inbound{Channel: channel.Email, From: "eve@example.com", To: "help@us.example", Text: "x", ProviderID: pid, ThreadHint: hint}
	}
	id := mustReceive(t, e, mail("e1@eve", "")).ConversationID
	if _, err := e.svc.Offered(ctx, id, "ana", time.Now()); err != nil {
		t.Fatal(err)
	}
	conv, err := e.svc.CloseWith(ctx, id, Closing{By: "sam", Disposition: "resolved", From: FromOffered})
	if err != nil {
		t.Fatal(err)
	}
	if conv.ClosedFrom != FromOffered || conv.AgentID != "ana" {
		t.Fatalf("closed from the queue: closed_from %q agent %q, want offered and ana", conv.ClosedFrom, conv.AgentID)
	}
	mustReceive(t, e, mail("e2@eve", "e1@eve"))
	if conv, err = e.svc.Conversation(ctx, id); err != nil || conv.Open() == false || conv.ClosedFrom != FromHandled {
		t.Fatalf("reopened: %+v %v; want open with no closed_from", conv, err)
	}
	if _, err := e.svc.Accepted(ctx, id, "bo", time.Now()); err != nil {
		t.Fatal(err)
	}
	if conv, err = e.svc.Close(ctx, id, "bo", "resolved"); err != nil || conv.ClosedFrom != FromHandled || conv.AgentID != "bo" {
		t.Fatalf("handled close after the reopen: %+v %v", conv, err)
	}
}

// TestACloseThatBeatsTheAcceptKeepsTheCustomersAgent: routing's accept
// reaches the record after the agent closed (the record refuses it then),
// yet the close names routing's holder, who becomes the customer's last
// agent, also after a transfer, even in the millisecond of the accept
// before it, and after another agent served them; a close after a
// recorded accept leaves the accept's time; a close naming no holder, a
// record accepted before accepted_at was kept, a close recorded long
// after and a close in the millisecond of another conversation's accept
// leave it alone.
func TestACloseThatBeatsTheAcceptKeepsTheCustomersAgent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// stopped, when not zero, is the service's clock in Unix milliseconds:
	// a fast Redis records an accept and a close in one millisecond, and
	// the test makes sure that they do.
	var stopped atomic.Int64
	e := newEnv(t, func(p *Params) {
		p.Now = func() time.Time {
			if ms := stopped.Load(); ms != 0 {
				return time.UnixMilli(ms)
			}
			return time.Now()
		}
	})
	stopAt := func(at time.Time) time.Time {
		stopped.Store(at.UnixMilli())
		return time.UnixMilli(at.UnixMilli())
	}
	lastAgent := func(cust string) (string, string) { t.Helper(); return lastAgentOf(t, e, cust) }
	// text opens a new conversation of the same customer (each is closed
	// before the next).
	text := func(body, sid string) channel.Receipt {
		t.Helper()
		return mustReceive(t, e, channel.Inbound{Channel: channel.SMS, From: "+46701234567", To: "+15550001111", Text: body, ProviderID: sid})
	}
	r := text("hi", "SM1")
	if _, err := e.svc.Offered(ctx, r.ConversationID, "ana", time.Now()); err != nil {
		t.Fatal(err)
	}
	conv, err := e.svc.CloseWith(ctx, r.ConversationID, Closing{Holder: "ana", By: "ana", Disposition: "resolved"})
	if err != nil || conv.AgentID != "ana" {
		t.Fatalf("close: %+v %v", conv, err)
	}
	if _, err := e.svc.Accepted(ctx, r.ConversationID, "ana", time.Now()); err == nil {
		t.Fatal("a late accept was recorded on a closed record")
	}
	if got, _ := lastAgent(conv.CustomerID); got != "ana" {
		t.Fatalf("last agent %q after a close that beat the accept, want ana", got)
	}

	r = text("again", "SM2")
	if _, err := e.svc.Accepted(ctx, r.ConversationID, "bo", time.Now()); err != nil {
		t.Fatal(err)
	}
	_, at := lastAgent(conv.CustomerID)
	time.Sleep(5 * time.Millisecond)
	if _, err := e.svc.CloseWith(ctx, r.ConversationID, Closing{Holder: "bo", By: "bo", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}
	if got, gotAt := lastAgent(conv.CustomerID); got != "bo" || gotAt != at {
		t.Fatalf("last agent %q at %s after a handled close, want bo at the accept's %s", got, gotAt, at)
	}

	// Accepted by bo, transferred to cy, closed by cy before the record
	// heard of cy's accept, all in one millisecond: cy served the customer
	// last.
	r = text("transfer", "SM2b")
	tie := stopAt(time.Now())
	if _, err := e.svc.Accepted(ctx, r.ConversationID, "bo", tie); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.OnTransferred(ctx, r.ConversationID, "bo", "", "cy", tie); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CloseWith(ctx, r.ConversationID, Closing{Holder: "cy", By: "cy", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}
	stopped.Store(0)
	if got, _ := lastAgent(conv.CustomerID); got != "cy" {
		t.Fatalf("last agent %q after a transfer's close beat the accept in its millisecond, want cy", got)
	}
	// bo serves them again, so the cases below have bo to keep.
	r = text("back", "SM2c")
	if _, err := e.svc.Accepted(ctx, r.ConversationID, "bo", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CloseWith(ctx, r.ConversationID, Closing{Holder: "bo", By: "bo", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}

	// A close that names no holder (routing had let go) of a record only
	// offered to cy leaves bo: cy never served them.
	r = text("third", "SM3")
	if _, err := e.svc.Offered(ctx, r.ConversationID, "cy", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RecordClose(ctx, r.ConversationID, Closing{Disposition: DispositionCustomerEnded}); err != nil {
		t.Fatal(err)
	}
	if got, _ := lastAgent(conv.CustomerID); got != "bo" {
		t.Fatalf("last agent %q after a close naming no holder, want bo still", got)
	}

	// A record accepted before accepted_at was kept (answered_at only, never
	// reopened) had its accept recorded: its close leaves bo too.
	r = text("fourth", "SM4")
	if err := e.rdb.HSet(ctx, e.svc.k.conv(r.ConversationID), "state", "active", "agent", "dee",
		"answered_at", fmt.Sprint(time.Now().Add(-time.Minute).UnixMilli())).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RecordClose(ctx, r.ConversationID, Closing{Holder: "dee", By: "dee", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := lastAgent(conv.CustomerID); got != "bo" {
		t.Fatalf("last agent %q after closing a record accepted before accepted_at, want bo still", got)
	}

	// A repaired close, recorded at routing's time long past, does not
	// take the place of a newer last agent.
	r = text("fifth", "SM5")
	if _, err := e.svc.Offered(ctx, r.ConversationID, "eve", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.OnClosed(ctx, r.ConversationID, Closing{Holder: "eve", Disposition: "resolved"}, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := lastAgent(conv.CustomerID); got != "bo" {
		t.Fatalf("last agent %q after a close an hour old, want bo still", got)
	}

	// In one millisecond, ana accepts the customer's text and cy closes
	// their call, offered to cy and never heard accepted: the tie is not
	// cy's, since ana's accept is not the call's.
	tie = stopAt(time.Now())
	r = text("sixth", "SM6")
	if _, err := e.svc.Accepted(ctx, r.ConversationID, "ana", tie); err != nil {
		t.Fatal(err)
	}
	call := mustReceive(t, e, channel.Inbound{Channel: channel.Voice, From: "+46701234567", To: "+15550001111", ProviderID: "CA6"})
	if call.CustomerID != conv.CustomerID || call.ConversationID == r.ConversationID {
		t.Fatalf("the call %+v, want another conversation of customer %s", call, conv.CustomerID)
	}
	if _, err := e.svc.Offered(ctx, call.ConversationID, "cy", tie); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CloseWith(ctx, call.ConversationID, Closing{Holder: "cy", By: "cy", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := lastAgent(conv.CustomerID); got != "ana" {
		t.Fatalf("last agent %q after a call's close in the millisecond of ana's accept of a text, want ana", got)
	}
	if _, err := e.svc.CloseWith(ctx, r.ConversationID, Closing{Holder: "ana", By: "ana", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}

	// A millisecond later, a close that beats dee's accept makes dee the
	// last agent over ana.
	later := stopAt(tie.Add(time.Millisecond))
	r = text("seventh", "SM7")
	if _, err := e.svc.Offered(ctx, r.ConversationID, "dee", later); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CloseWith(ctx, r.ConversationID, Closing{Holder: "dee", By: "dee", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}
	if got, gotAt := lastAgent(conv.CustomerID); got != "dee" || gotAt != fmt.Sprint(later.UnixMilli()) {
		t.Fatalf("last agent %q at %s after a close a millisecond after ana's accept, want dee at %d", got, gotAt, later.UnixMilli())
	}
}

// TestAHandledCloseCountsFromTheHoldersAccept: accepted by bo, transferred
// to cy, who accepts and closes before the record hears of that accept.
// The close names cy's accept as routing stamped it: handle_ms counts from
// it (not from bo's, which would add bo's time and the transfer's wait),
// and the record keeps it as its last accept. Which agent the customer
// gets back is still settled by the record's own accept: bo's, stamped by
// a gateway whose clock runs ahead of the closing one's, came before the
// close, so cy becomes the last agent.
func TestAHandledCloseCountsFromTheHoldersAccept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.UnixMilli(time.Now().UnixMilli())
	closedAt := t0.Add(5 * time.Second)
	e := newEnv(t, func(p *Params) { p.Now = func() time.Time { return closedAt } })
	r := mustReceive(t, e, channel.Inbound{Channel: channel.SMS, From: "+46701230000", To: "+15550001111", Text: "hi", ProviderID: "SMh1"})
	if _, err := e.svc.Accepted(ctx, r.ConversationID, "bo", t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.OnTransferred(ctx, r.ConversationID, "bo", "", "cy", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	cyAccepted := t0.Add(2 * time.Second)
	if _, err := e.svc.RecordClose(ctx, r.ConversationID, Closing{Holder: "cy", HolderAccepted: cyAccepted, By: "cy", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.rdb.XRange(ctx, e.svc.EventsKey(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var closes []Event
	for _, m := range msgs {
		if ev := EventFrom(m.ID, m.Values); ev.Type == EventConversationClosed && ev.ConversationID == r.ConversationID {
			closes = append(closes, ev)
		}
	}
	if len(closes) != 1 || closes[0].Handle != 3*time.Second || closes[0].AgentID != "cy" {
		t.Fatalf("close events %+v; want one, cy's, handled for 3 s", closes)
	}
	if at, _ := e.rdb.HGet(ctx, e.svc.k.conv(r.ConversationID), "accepted_at").Result(); at != fmt.Sprint(cyAccepted.UnixMilli()) {
		t.Errorf("record's accepted_at %s, want cy's %d", at, cyAccepted.UnixMilli())
	}
	if got, _ := lastAgentOf(t, e, r.CustomerID); got != "cy" {
		t.Errorf("last agent %q, want cy", got)
	}
}

// TestALateAcceptLeavesANewerService: the customer's text is accepted by
// ana, their call by bo three seconds later, and the call's accept is
// recorded first (the gateway handling the text's is behind). Bo served
// them last and stays their last agent; an accept newer than bo's (cy's,
// of their next call) takes the place.
func TestALateAcceptLeavesANewerService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	in := func(ch channel.Name, sid string) channel.Receipt {
		t.Helper()
		return helloFrom(t, e, ch, "+46701239999", sid)
	}
	lastAgent := func(cust string) (string, string) { t.Helper(); return lastAgentOf(t, e, cust) }
	text, call := in(channel.SMS, "SMlate"), in(channel.Voice, "CAlate")
	if text.CustomerID != call.CustomerID {
		t.Fatalf("text's customer %s, call's %s: want one", text.CustomerID, call.CustomerID)
	}
	bo := time.UnixMilli(time.Now().UnixMilli())
	if _, err := e.svc.Accepted(ctx, call.ConversationID, "bo", bo); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Accepted(ctx, text.ConversationID, "ana", bo.Add(-3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, at := lastAgent(text.CustomerID); got != "bo" || at != fmt.Sprint(bo.UnixMilli()) {
		t.Fatalf("last agent %q at %s after an older accept recorded late, want bo at %d", got, at, bo.UnixMilli())
	}
	if _, err := e.svc.CloseWith(ctx, call.ConversationID, Closing{Holder: "bo", By: "bo", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}
	next := in(channel.Voice, "CAnext")
	cy := bo.Add(time.Second)
	if _, err := e.svc.Accepted(ctx, next.ConversationID, "cy", cy); err != nil {
		t.Fatal(err)
	}
	if got, at := lastAgent(text.CustomerID); got != "cy" || at != fmt.Sprint(cy.UnixMilli()) {
		t.Fatalf("last agent %q at %s after a newer accept, want cy at %d", got, at, cy.UnixMilli())
	}
}

// TestACloseThatBeatsTheAcceptDatesTheServiceByIt: bo's call is closed
// before the record heard of his accept, which routing stamped ten seconds
// ago; cy accepted the customer's text five seconds ago, and the record
// hears of it only after the close. Both services are dated by their
// accepts, so cy's, the later, is the one the customer goes back to.
func TestACloseThatBeatsTheAcceptDatesTheServiceByIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	text, call := helloFrom(t, e, channel.SMS, "+46701238888", "SMdate"), helloFrom(t, e, channel.Voice, "+46701238888", "CAdate")
	now := time.UnixMilli(time.Now().UnixMilli())
	boAccepted, cyAccepted := now.Add(-10*time.Second), now.Add(-5*time.Second)
	if _, err := e.svc.Offered(ctx, call.ConversationID, "bo", boAccepted); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RecordClose(ctx, call.ConversationID, Closing{Holder: "bo", HolderAccepted: boAccepted, By: "bo", Disposition: "resolved"}); err != nil {
		t.Fatal(err)
	}
	if got, at := lastAgentOf(t, e, call.CustomerID); got != "bo" || at != fmt.Sprint(boAccepted.UnixMilli()) {
		t.Fatalf("after bo's close: last agent %q at %s; want bo at his accept, %d", got, at, boAccepted.UnixMilli())
	}
	if _, err := e.svc.Accepted(ctx, text.ConversationID, "cy", cyAccepted); err != nil {
		t.Fatal(err)
	}
	if got, _ := lastAgentOf(t, e, call.CustomerID); got != "cy" {
		t.Fatalf("last agent %q after cy's later accept was recorded, want cy", got)
	}
}

// lastAgentOf is the customer's last agent and when they served.
func lastAgentOf(t *testing.T, e *env, cust string) (agent, at string) {
	t.Helper()
	v, err := e.rdb.HMGet(context.Background(), e.svc.k.cust(cust), "last_agent", "last_agent_at").Result()
	if err != nil {
		t.Fatal(err)
	}
	agent, _ = v[0].(string)
	at, _ = v[1].(string)
	return agent, at
}

// helloFrom is a customer's "hello" from the phone number from, on ch.
func helloFrom(t *testing.T, e *env, ch channel.Name, from, providerID string) channel.Receipt {
	t.Helper()
	return mustReceive(t, e, channel.Inbound{Channel: ch, From: from, To: "+15550001111", Text: "hello", ProviderID: providerID})
}
