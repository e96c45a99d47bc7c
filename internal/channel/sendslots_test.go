package channel

import (
	"context"
	"errors"
	"testing"
	"time"
)

// At most n sends hold a slot; one more waits for a slot to free, and is
// answered busy when none does in time, or temporarily failed when its
// context ends first.
func TestSendSlotsBoundWaitAndAnswerBusy(t *testing.T) {
	t.Parallel()
	s := NewSendSlots(2, "messages with Twilio")
	ctx := context.Background()
	for i := range 2 {
		if err := s.Take(ctx, time.Millisecond); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	err := s.Take(ctx, 20*time.Millisecond)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.RetryAfter != BusyRetry || !errors.Is(err, ErrTemporary) {
		t.Fatalf("a third send at once: %v, want busy", err)
	}
	if want := "busy, try later: all 2 messages with Twilio are in use"; err.Error() != want {
		t.Fatalf("busy says %q, want %q", err, want)
	}
	got := make(chan error, 1)
	go func() { got <- s.Take(ctx, 5*time.Second) }()
	time.Sleep(10 * time.Millisecond)
	s.Put()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("a waiting send once a slot freed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting send did not get the slot that freed")
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.Take(cctx, 0); !errors.Is(err, ErrTemporary) || errors.As(err, &busy) {
		t.Fatalf("a send whose context ended while waiting: %v, want temporary, not busy", err)
	}
	if cap(NewSendSlots(0, "x").slots) != 1 {
		t.Fatal("zero slots: want one")
	}
}
