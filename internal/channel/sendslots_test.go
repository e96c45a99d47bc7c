package channel

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
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
	if r, b := s.Waiting(); r != 0 || b != 0 {
		t.Fatalf("%d replies and %d acknowledgements still waiting after giving up", r, b)
	}
	if NewSendSlots(0, "x").n != 1 {
		t.Fatal("zero slots: want one")
	}
}

// A slot that frees goes to a waiting reply before an acknowledgement
// that waited longer, and to the acknowledgement when no reply waits.
func TestSendSlotsServeRepliesBeforeAcknowledgements(t *testing.T) {
	t.Parallel()
	s := NewSendSlots(1, "messages with Twilio")
	ctx := context.Background()
	if err := s.Take(ctx, 0); err != nil {
		t.Fatal(err)
	}
	ack, reply := make(chan error, 1), make(chan error, 1)
	go func() {
		waited, err := s.takeBehind(ctx)
		if err == nil && !waited {
			err = errors.New("took a slot in use without waiting")
		}
		ack <- err
	}()
	waitFor(t, s, 0, 1)
	go func() { reply <- s.Take(ctx, 5*time.Second) }()
	waitFor(t, s, 1, 1)

	s.Put()
	if err := <-reply; err != nil {
		t.Fatalf("the reply: %v", err)
	}
	select {
	case err := <-ack:
		t.Fatalf("the acknowledgement took the slot a reply waited for (%v)", err)
	case <-time.After(20 * time.Millisecond):
	}
	s.Put()
	if err := <-ack; err != nil {
		t.Fatalf("the acknowledgement once no reply waits: %v", err)
	}
	s.Put()
	// All free again: one taker gets a slot at once.
	if waited, err := s.takeBehind(ctx); err != nil || waited {
		t.Fatalf("after every slot came back: waited %v, %v", waited, err)
	}
}

// An acknowledgement whose caller gives up leaves the line, and a slot
// handed to it as it did so is passed on, not kept.
func TestSendSlotsAnAcknowledgementGivingUpLeavesTheLine(t *testing.T) {
	t.Parallel()
	s := NewSendSlots(1, "connections of the mailbox")
	if err := s.Take(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ack := make(chan error, 1)
	go func() { _, err := s.takeBehind(ctx); ack <- err }()
	waitFor(t, s, 0, 1)
	cancel()
	if err := <-ack; !errors.Is(err, context.Canceled) || !errors.Is(err, ErrTemporary) {
		t.Fatalf("an acknowledgement given up: %v, want canceled and temporary", err)
	}
	if r, b := s.Waiting(); r != 0 || b != 0 {
		t.Fatalf("%d replies and %d acknowledgements still waiting", r, b)
	}
	s.Put()
	if err := s.Take(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("the slot after the acknowledgement left: %v", err)
	}
}

func waitFor(t *testing.T, s *SendSlots, replies, behind int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if r, b := s.Waiting(); r == replies && b == behind {
			return
		}
	}
	t.Fatalf("want %d replies and %d acknowledgements waiting", replies, behind)
}

// Many takers giving up, timing out and being handed slots at the same
// moments never hold more than n slots, and leave none taken and no one
// waiting: a slot handed to a taker as it gives up is kept or passed on,
// never lost.
func TestSendSlotsLoseNoSlotUnderRaces(t *testing.T) {
	t.Parallel()
	const n = 2
	s := NewSendSlots(n, "x")
	var inUse, most atomic.Int64
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 300 {
				var err error
				switch r.IntN(3) {
				case 0:
					err = s.Take(context.Background(), time.Duration(r.IntN(300))*time.Microsecond+time.Microsecond)
				case 1:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(300))*time.Microsecond)
					_, err = s.takeBehind(ctx)
					cancel()
				default:
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(300))*time.Microsecond)
					err = s.Take(ctx, 0)
					cancel()
				}
				if err != nil {
					continue
				}
				now := inUse.Add(1)
				for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
				}
				time.Sleep(time.Duration(r.IntN(100)) * time.Microsecond)
				inUse.Add(-1)
				s.Put()
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m > n {
		t.Fatalf("%d slots in use at once, want at most %d", m, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used != 0 || len(s.replies) != 0 || len(s.behind) != 0 {
		t.Fatalf("afterwards %d slots taken, %d replies and %d acknowledgements waiting; want none", s.used, len(s.replies), len(s.behind))
	}
}
