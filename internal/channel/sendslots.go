package channel

import (
	"context"
	"fmt"
	"time"
)

// SendSlots bound how many sends of one provider account or server a
// gateway has under way at once (Twilio's concurrent requests, a mailbox's
// SMTP connections). A send that finds them all taken waits a moment; if
// none frees up it is answered busy, so that the outbox puts it off and
// its worker serves other channels meanwhile.
type SendSlots struct {
	slots chan struct{}
	what  string // what a slot is, for the busy answer: "connections of the mailbox"
}

// NewSendSlots makes n slots (at least one); what names them in the busy
// answer, e.g. "messages with Twilio".
func NewSendSlots(n int, what string) *SendSlots {
	return &SendSlots{slots: make(chan struct{}, max(1, n)), what: what}
}

// BusyRetry is when a send that found no free slot is tried again. The
// slots pace what reaches the provider, so the send need not back off
// further: it only gives its worker back for a moment.
const BusyRetry = 250 * time.Millisecond

// Take takes a slot, waiting until ctx ends or, with maxWait > 0, for at
// most maxWait; then it answers *BusyError (RetryAfter BusyRetry). Every
// Take that returns nil needs one Put.
func (s *SendSlots) Take(ctx context.Context, maxWait time.Duration) error {
	select {
	case s.slots <- struct{}{}:
		return nil
	default:
	}
	var giveUp <-chan time.Time
	if maxWait > 0 {
		t := time.NewTimer(maxWait)
		defer t.Stop()
		giveUp = t.C
	}
	select {
	case s.slots <- struct{}{}:
		return nil
	case <-giveUp:
		return &BusyError{RetryAfter: BusyRetry, Reason: fmt.Sprintf("all %d %s are in use", cap(s.slots), s.what)}
	case <-ctx.Done():
		return fmt.Errorf("waiting for one of %d %s: %w: %w", cap(s.slots), s.what, ctx.Err(), ErrTemporary)
	}
}

// Put gives a slot back.
func (s *SendSlots) Put() { <-s.slots }
