package webhook

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/routing"
)

// TestRoutingsCloseStartAndStaffAbandonSendNothing: of routing's closing
// events only a customer's abandon becomes an envelope
// (conversation.abandoned; one written before abandons had a cause is the
// customer's leaving). A close, and staff's close from the queue, are told
// by the record's close on the conversation stream, with the disposition;
// an agent's start by the record's start (routing's may be of a start the
// record refused).
func TestRoutingsCloseStartAndStaffAbandonSendNothing(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ   routing.EventType
		cause routing.AbandonCause
		want  string
	}{
		{routing.EventAbandoned, routing.CauseClosed, ""},
		{routing.EventAbandoned, routing.CauseCustomer, TypeConversationAbandoned},
		{routing.EventAbandoned, "", TypeConversationAbandoned},
		{routing.EventClosed, "", ""},
		{routing.EventStarted, "", ""},
	} {
		ev := routing.Event{ID: "1-0", Type: c.typ, At: time.Now(), ConversationID: "c", Queue: "support",
			Channel: "sms", AgentID: "ana", Reason: "offered", Wait: 3 * time.Second, Cause: c.cause}
		envs := fromRouting("ws", ev)
		if c.want == "" {
			if len(envs) != 0 {
				t.Errorf("%s cause %q: %+v; want none", c.typ, c.cause, envs)
			}
			continue
		}
		if len(envs) != 1 || envs[0].Type != c.want || envs[0].Data.WaitMS != 3000 || envs[0].Data.Reason != "offered" {
			t.Errorf("%s cause %q: %+v; want one %s", c.typ, c.cause, envs, c.want)
		}
	}
}

// TestAClosedEnvelopeCarriesTheDispositionRecordedAfterRouting: closes in
// the desk's order, routing first and the record after, with the fan-out
// given time to handle routing's event in between (when the envelope was
// built from routing's event, it read the record before the close and
// went without a disposition). Where the close took the conversation from
// is the caller's word (routing's state), not the record's, which may lag:
//   - spam closed from the queue: conversation.closed with reason
//     waiting, wait_ms and no agent, never conversation.abandoned;
//   - one offered to ana, closed from the queue: reason offered;
//   - one a promise sent back to the queue (its record still active with
//     ana) closed by a supervisor: from the queue, no agent, no handle_ms;
//   - one ana accepted, closed by her: her name and handle_ms;
//   - one ana accepted in routing, closed by a supervisor before the
//     record heard of the offer or the accept: her name (routing's
//     holder, not the closer's), no reason, no handle_ms;
//   - a customer who leaves: conversation.abandoned.
func TestAClosedEnvelopeCarriesTheDispositionRecordedAfterRouting(t *testing.T) {
	h := newHarness(t)
	f := newFacts(h)
	s := f.service("gw1", nil)
	both, abandonsOnly := newReceiver(t), newReceiver(t)
	register(t, s, both, TypeConversationClosed, TypeConversationAbandoned)
	register(t, s, abandonsOnly, TypeConversationAbandoned)
	f.run(s)
	between := func() { time.Sleep(150 * time.Millisecond) } // past the fan-out's 25 ms linger
	ctx := h.ctx
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	spam := f.receive("+14155550130", "WIN A PRIZE", "SMspam").ConversationID
	offered := f.receive("+14155550133", "FREE CRUISE", "SMoffered").ConversationID
	parked := f.receive("+14155550134", "Any news?", "SMparked").ConversationID
	left := f.receive("+14155550131", "Anyone there?", "SMleft").ConversationID
	helped := f.receive("+14155550132", "Where is my parcel?", "SMhelped").ConversationID
	quick := f.receive("+14155550135", "Thanks, sorted", "SMquick").ConversationID
	h.enqueue(spam)
	h.enqueue(left)
	if err := h.engine.Abandon(ctx, spam, routing.CauseClosed); err != nil {
		t.Fatal(err)
	}
	must(f.convs.Offered(ctx, offered, "ana", time.Now()))
	must(f.convs.Accepted(ctx, parked, "ana", time.Now()))
	must(f.convs.Accepted(ctx, helped, "ana", time.Now()))
	between()
	must(f.convs.RecordClose(ctx, spam, conversation.Closing{By: "sam", Disposition: "spam", From: conversation.FromWaiting}))
	must(f.convs.RecordClose(ctx, offered, conversation.Closing{By: "sam", Disposition: "spam", From: conversation.FromOffered}))
	must(f.convs.RecordClose(ctx, parked, conversation.Closing{By: "sam", Disposition: "duplicate", From: conversation.FromWaiting}))
	must(f.convs.RecordClose(ctx, helped, conversation.Closing{By: "ana", Disposition: "resolved", From: conversation.FromHandled}))
	must(f.convs.RecordClose(ctx, quick, conversation.Closing{Holder: "ana", By: "sam", Disposition: "resolved"}))
	h.abandon(left)

	closed := byType(t, both, TypeConversationClosed, 5)
	abandoned := byType(t, both, TypeConversationAbandoned, 1)
	time.Sleep(200 * time.Millisecond) // nothing more may come
	if got := len(both.delivered()); got != 6 {
		t.Fatalf("%d deliveries, want 6: %+v", got, both.delivered())
	}
	byConv := map[string]Data{}
	for _, e := range closed {
		byConv[e.Data.ConversationID] = e.Data
	}
	for _, c := range []struct {
		conv, disposition, reason string
	}{{spam, "spam", "waiting"}, {offered, "spam", "offered"}, {parked, "duplicate", "waiting"}} {
		if d := byConv[c.conv]; d.Disposition != c.disposition || d.Reason != c.reason || d.WaitMS < 150 ||
			d.AgentID != "" || d.HandleMS != 0 || d.CustomerID == "" || d.Queue == "" || d.Channel != "sms" {
			t.Errorf("conversation.closed of a close from the queue (%s, %s): %+v", c.disposition, c.reason, d)
		}
	}
	if d := byConv[helped]; d.Disposition != "resolved" || d.AgentID != "ana" || d.HandleMS < 150 || d.Reason != "" ||
		d.WaitMS != 0 || d.CustomerID == "" {
		t.Errorf("conversation.closed of the agent's close: %+v", d)
	}
	if d := byConv[quick]; d.Disposition != "resolved" || d.AgentID != "ana" || d.HandleMS != 0 || d.Reason != "" || d.WaitMS != 0 {
		t.Errorf("conversation.closed of a close before the record heard of the accept: %+v", d)
	}
	if d := abandoned[0].Data; d.ConversationID != left || d.Reason != "waiting" {
		t.Errorf("conversation.abandoned of the customer's leaving: %+v", d)
	}
	only := byType(t, abandonsOnly, TypeConversationAbandoned, 1)
	time.Sleep(200 * time.Millisecond)
	if got := abandonsOnly.delivered(); len(got) != 1 || only[0].Data.ConversationID != left {
		t.Errorf("an endpoint of abandons alone got %+v; want the customer's only", got)
	}
}
