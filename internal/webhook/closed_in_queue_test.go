package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/routing"
)

// TestRoutingsAbandonIsAClosedEnvelopeOnlyWhenStaffClosedIt: routing's
// abandoned event means conversation.abandoned unless its cause says staff
// closed the conversation from the queue; one written before abandons had a
// cause is the customer's leaving.
func TestRoutingsAbandonIsAClosedEnvelopeOnlyWhenStaffClosedIt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cause routing.AbandonCause
		want  string
	}{
		{routing.CauseClosed, TypeConversationClosed},
		{routing.CauseCustomer, TypeConversationAbandoned},
		{"", TypeConversationAbandoned},
	} {
		ev := routing.Event{ID: "1-0", Type: routing.EventAbandoned, At: time.Now(), ConversationID: "c", Queue: "support",
			Channel: "sms", AgentID: "ana", Reason: "offered", Wait: 3 * time.Second, Cause: c.cause}
		envs := fromRouting(context.Background(), "ws", ev, nil)
		if len(envs) != 1 || envs[0].Type != c.want || envs[0].Data.WaitMS != 3000 || envs[0].Data.Reason != "offered" {
			t.Errorf("cause %q: %+v; want one %s", c.cause, envs, c.want)
		}
	}
}

// TestAStaffCloseFromTheQueueIsSentAsClosed: a supervisor's close of a
// conversation nobody took reaches endpoints as conversation.closed with
// the close's disposition, never as conversation.abandoned; a customer who
// leaves is still conversation.abandoned.
func TestAStaffCloseFromTheQueueIsSentAsClosed(t *testing.T) {
	h := newHarness(t)
	f := newFacts(h)
	s := f.service("gw1", nil)
	both, abandonsOnly := newReceiver(t), newReceiver(t)
	register(t, s, both, TypeConversationClosed, TypeConversationAbandoned)
	register(t, s, abandonsOnly, TypeConversationAbandoned)
	f.run(s)

	spam := f.receive("+14155550130", "WIN A PRIZE", "SMspam").ConversationID
	left := f.receive("+14155550131", "Anyone there?", "SMleft").ConversationID
	h.enqueue(spam)
	h.enqueue(left)
	// The record's close comes first here, so the envelope's read of the
	// disposition does not race it (the desk records it just after).
	if _, err := f.convs.RecordClose(h.ctx, spam, "sam", "spam"); err != nil {
		t.Fatal(err)
	}
	if err := h.engine.Abandon(h.ctx, spam, routing.CauseClosed); err != nil {
		t.Fatal(err)
	}
	h.abandon(left)

	closed := byType(t, both, TypeConversationClosed, 1)
	abandoned := byType(t, both, TypeConversationAbandoned, 1)
	time.Sleep(200 * time.Millisecond) // nothing more may come
	if got := len(both.delivered()); got != 2 {
		t.Fatalf("%d deliveries, want 2: %+v", got, both.delivered())
	}
	if d := closed[0].Data; d.ConversationID != spam || d.Disposition != "spam" || d.Reason != "waiting" ||
		d.AgentID != "" || d.HandleMS != 0 || d.CustomerID == "" || d.Queue == "" {
		t.Errorf("conversation.closed of the staff close: %+v", d)
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
