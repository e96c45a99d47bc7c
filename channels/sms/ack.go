package sms

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// Estimator gives the expected wait of a queue as a range. ok is false when
// there is no honest estimate (too few recent measurements, nobody
// staffed); the customer is then promised no time.
type Estimator interface {
	Estimate(ctx context.Context, queue string) (low, high time.Duration, ok bool, err error)
}

// Promise is what the first acknowledgement told a customer, so that the
// accuracy of estimates (promise kept) can be measured and the text shown
// in the transcript.
type Promise struct {
	ConversationID string
	CustomerID     string
	Queue          string
	// Low and High are the promised wait range; both zero when no time was
	// promised (no estimate, or closed).
	Low, High time.Duration
	// Closed is set when the text said when business hours resume; Opens is
	// that time.
	Closed bool
	Opens  time.Time
	// Text is the message sent; ProviderID its Twilio MessageSid.
	Text       string
	ProviderID string
	At         time.Time
}

// PromiseRecorder learns each acknowledgement sent.
type PromiseRecorder interface {
	RecordPromise(ctx context.Context, p Promise) error
}

// composeAck picks and fills the acknowledgement for queue at now. It
// returns an empty text when the queue's acknowledgement is off.
func (c *Channel) composeAck(ctx context.Context, queue string, now time.Time) (string, Promise, error) {
	p := Promise{Queue: queue, At: now}
	r := c.replyFor(queue)
	if r.off {
		return "", p, nil
	}
	var b strings.Builder
	data := ackData{Queue: queue}
	if sched := c.hoursFor(queue); !sched.IsOpen(now) {
		if opens, ok := sched.NextOpen(now); ok {
			p.Closed, p.Opens = true, opens
			data.Opens = sched.Describe(now, opens)
			if err := r.closed.Execute(&b, data); err != nil {
				return "", p, fmt.Errorf("sms: reply for queue %s: %w", queue, err)
			}
			return b.String(), p, nil
		}
	}
	if c.estimator != nil {
		low, high, ok, err := c.estimator.Estimate(ctx, queue)
		if err != nil {
			// Without an estimate the honest text is the one that promises
			// no time; the customer still hears that a person will answer.
			c.log.Warn("sms: wait estimate unavailable, acknowledging without one", "queue", queue, "err", err)
		} else if ok && high > 0 {
			if high < low {
				low, high = high, low
			}
			p.Low, p.High = low, high
			data.Wait = waitPhrase(low, high)
			if err := r.withEstimate.Execute(&b, data); err != nil {
				return "", p, fmt.Errorf("sms: reply for queue %s: %w", queue, err)
			}
			return b.String(), p, nil
		}
	}
	if err := r.withoutEstimate.Execute(&b, data); err != nil {
		return "", p, fmt.Errorf("sms: reply for queue %s: %w", queue, err)
	}
	return b.String(), p, nil
}

// waitPhrase words a wait range for a text message: the low end rounded
// down and the high end rounded up, so the range said contains the range
// estimated; minutes below 90 minutes, hours above.
func waitPhrase(low, high time.Duration) string {
	if high <= time.Minute {
		return "in under a minute"
	}
	unit, plural, size := "minute", "minutes", time.Minute
	if high >= 90*time.Minute {
		unit, plural, size = "hour", "hours", time.Hour
	}
	lo := int(low / size)
	hi := int(math.Ceil(float64(high) / float64(size)))
	name := func(n int) string {
		if n == 1 {
			return unit
		}
		return plural
	}
	switch {
	case lo == hi:
		return fmt.Sprintf("in about %d %s", hi, name(hi))
	case lo == 0:
		return fmt.Sprintf("in up to %d %s", hi, name(hi))
	default:
		return fmt.Sprintf("in about %d–%d %s", lo, hi, plural)
	}
}

func (c *Channel) replyFor(queue string) replyTemplates {
	if r, ok := c.replies[queue]; ok {
		return r
	}
	return c.replies["*"]
}
