package conversation

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestAMarkedCloseHoldsOffRoutingsAbandonForAWhile: routing's abandoned
// event that came while a close was marked under way records nothing,
// until closingFor after it (the closer died: the record says closed in
// the queue, as the figures do); a customer's own abandon,
// and routing's abandon of a conversation marked long before, are
// recorded at once.
func TestAMarkedCloseHoldsOffRoutingsAbandonForAWhile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	e := newEnv(t, func(p *Params) { p.Now = clock })
	state := func(id string) State {
		t.Helper()
		c, err := e.svc.Conversation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return c.State
	}

	closing := mustReceive(t, e, sms("+15550007001", "spam", "SMclosing1")).ConversationID
	if err := e.svc.MarkClosing(ctx, closing); err != nil {
		t.Fatal(err)
	}
	abandonedAt := clock()
	if err := e.svc.OnRoutingAbandoned(ctx, closing, FromWaiting, abandonedAt); !errors.Is(err, ErrCloseUnderWay) {
		t.Fatalf("routing's abandon during a marked close: %v, want ErrCloseUnderWay", err)
	}
	if st := state(closing); st == StateAbandoned {
		t.Fatal("routing's abandon was recorded over a close under way")
	}
	// The closer died: handed out again later, the staff close goes in,
	// without the disposition that died with it.
	advance(closingFor)
	if err := e.svc.OnRoutingAbandoned(ctx, closing, FromWaiting, abandonedAt); err != nil {
		t.Fatal(err)
	}
	if c, err := e.svc.Conversation(ctx, closing); err != nil || c.State != StateClosed || c.Disposition != DispositionClosedInQueue {
		t.Errorf("after the mark's time a staff close left the record %s/%q (%v), want closed/%s", c.State, c.Disposition, err, DispositionClosedInQueue)
	}

	// A customer who leaves while a close is marked is recorded at once.
	leaving := mustReceive(t, e, sms("+15550007002", "bye", "SMclosing2")).ConversationID
	if err := e.svc.MarkClosing(ctx, leaving); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.OnAbandoned(ctx, leaving, clock()); err != nil {
		t.Fatal(err)
	}
	if st := state(leaving); st != StateAbandoned {
		t.Errorf("a customer's abandon during a marked close left the record %s", st)
	}

	// A mark left by a close long before does not hold a later abandon.
	stale := mustReceive(t, e, sms("+15550007003", "hi", "SMclosing3")).ConversationID
	if err := e.svc.MarkClosing(ctx, stale); err != nil {
		t.Fatal(err)
	}
	advance(closingFor + time.Second)
	if err := e.svc.OnRoutingAbandoned(ctx, stale, FromHandled, clock()); err != nil {
		t.Fatalf("routing's abandon after a stale mark: %v", err)
	}
	if st := state(stale); st != StateAbandoned {
		t.Errorf("routing's abandon after a stale mark left the record %s", st)
	}

	// Nothing to mark on a closed conversation.
	if err := e.svc.MarkClosing(ctx, stale); !errors.Is(err, ErrClosed) {
		t.Errorf("marking a closed conversation: %v, want ErrClosed", err)
	}
}
