package channel

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// SendSlots bound how many sends of one provider account or server a
// gateway has under way at once (Twilio's concurrent requests, a mailbox's
// SMTP connections). A reply that finds them all taken waits a moment; if
// none frees up it is answered busy, so that the outbox puts it off and
// its worker serves other channels meanwhile.
//
// Acknowledgements wait behind replies (TakeForAcknowledgement): a slot that frees
// goes to a waiting reply first. In a flood of new contacts above what the
// provider takes, the acknowledgements of the newcomers would otherwise
// take every slot, and the replies of conversations agents are already in
// would be put off again and again.
type SendSlots struct {
	what string // what a slot is, for the busy answer: "connections of the mailbox"

	mu      sync.Mutex
	n, used int
	// Waiting takers, oldest first. A slot that frees is handed to one
	// of them without being counted free, so a waiter exists only while
	// every slot is in use.
	replies, behind []chan struct{}
}

// NewSendSlots makes n slots (at least one); what names them in the busy
// answer, e.g. "messages with Twilio".
func NewSendSlots(n int, what string) *SendSlots {
	return &SendSlots{n: max(1, n), what: what}
}

// BusyRetry is when a send that found no free slot is tried again. The
// slots pace what reaches the provider, so the send need not back off
// further: it only gives its worker back for a moment.
const BusyRetry = 250 * time.Millisecond

// Take takes a slot for a reply, waiting until ctx ends or, with
// maxWait > 0, for at most maxWait; then it answers *BusyError
// (RetryAfter BusyRetry). Every Take that returns nil needs one Put.
func (s *SendSlots) Take(ctx context.Context, maxWait time.Duration) error {
	return s.take(ctx, maxWait, false)
}

// ErrAnswered is an automatic acknowledgement not sent: an agent answered
// the customer while it waited, and "we will be with you" would come
// after the answer.
var ErrAnswered = errors.New("an agent answered first")

// TakeForAcknowledgement takes a slot for the automatic acknowledgement of
// conversation convID, waiting until ctx ends, behind every Take: a slot
// goes to it only when no reply is waiting. When it had to wait and core
// says an agent has answered meanwhile, it gives the slot back and
// answers ErrAnswered. When that cannot be read the acknowledgement goes:
// better a late "we got your message" than none. Every nil answer needs
// one Put.
func (s *SendSlots) TakeForAcknowledgement(ctx context.Context, core Core, convID string) error {
	waited, err := s.takeBehind(ctx)
	if err != nil || !waited {
		return err
	}
	if answered, _ := core.Answered(ctx, convID); answered {
		s.Put()
		return ErrAnswered
	}
	return nil
}

// takeBehind takes a slot behind every Take. waited says it did not find
// one free, so time has passed and what it was to send may be moot.
func (s *SendSlots) takeBehind(ctx context.Context) (waited bool, err error) {
	if s.tryTake() {
		return false, nil
	}
	return true, s.take(ctx, 0, true)
}

func (s *SendSlots) tryTake() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used < s.n {
		s.used++
		return true
	}
	return false
}

func (s *SendSlots) take(ctx context.Context, maxWait time.Duration, behind bool) error {
	s.mu.Lock()
	if s.used < s.n {
		s.used++
		s.mu.Unlock()
		return nil
	}
	handed := make(chan struct{}, 1)
	lane := &s.replies
	if behind {
		lane = &s.behind
	}
	*lane = append(*lane, handed)
	s.mu.Unlock()

	var giveUp <-chan time.Time
	if maxWait > 0 {
		t := time.NewTimer(maxWait)
		defer t.Stop()
		giveUp = t.C
	}
	var err error
	select {
	case <-handed:
		return nil
	case <-giveUp:
		err = &BusyError{RetryAfter: BusyRetry, Reason: fmt.Sprintf("all %d %s are in use", s.n, s.what)}
	case <-ctx.Done():
		err = fmt.Errorf("waiting for one of %d %s: %w: %w", s.n, s.what, ctx.Err(), ErrTemporary)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, w := range *lane {
		if w == handed {
			*lane = append((*lane)[:i], (*lane)[i+1:]...)
			return err
		}
	}
	// A Put handed the slot over while this gave up. A reply out of time
	// may as well use it; one whose caller has gone passes it on.
	if ctx.Err() != nil {
		s.put()
		return err
	}
	return nil
}

// Put gives a slot back, to the oldest waiting reply, else to the oldest
// waiting acknowledgement, else to the free ones.
func (s *SendSlots) Put() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put()
}

func (s *SendSlots) put() {
	for _, lane := range []*[]chan struct{}{&s.replies, &s.behind} {
		if len(*lane) > 0 {
			w := (*lane)[0]
			*lane = (*lane)[1:]
			w <- struct{}{}
			return
		}
	}
	if s.used == 0 {
		panic("channel: SendSlots.Put without a Take")
	}
	s.used--
}

// Waiting reports how many replies (Take) and acknowledgements
// (TakeForAcknowledgement) wait for a slot.
func (s *SendSlots) Waiting() (replies, behind int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.replies), len(s.behind)
}
