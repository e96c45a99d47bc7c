package sms

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// promise is the wait range the first acknowledgement promised; both
// zero when it promised no time (no estimate, or closed). The core is told
// it with the text (channel.Core.Told), so "promise kept" is measured.
type promise struct {
	Low, High time.Duration
}

// composeAck picks and fills the acknowledgement for queue at now. It
// returns an empty text when the queue's acknowledgement is off.
func (c *Channel) composeAck(ctx context.Context, queue string, now time.Time) (string, promise, error) {
	var p promise
	r := c.replyFor(queue)
	if r.off {
		return "", p, nil
	}
	var b strings.Builder
	data := ackData{Queue: queue}
	if sched := c.hoursFor(queue); !sched.IsOpen(now) {
		if opens, ok := sched.NextOpen(now); ok {
			data.Opens = sched.Describe(now, opens)
			if err := r.closed.Execute(&b, data); err != nil {
				return "", p, fmt.Errorf("sms: reply for queue %s: %w", queue, err)
			}
			return b.String(), p, nil
		}
	}
	if est, err := c.core.Estimate(ctx, queue); err != nil {
		// Without an estimate the honest text is the one that promises
		// no time; the customer still hears that a person will answer.
		c.log.Warn("sms: wait estimate unavailable, acknowledging without one", "queue", queue, "err", err)
	} else if low, high := est.Low, est.High; est.Known && high > 0 {
		{
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
