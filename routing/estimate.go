package routing

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// MinEstimateSamples is how many recently measured waits an estimate needs
// before it claims to say anything (Estimate.Enough).
const MinEstimateSamples = 10

// Estimate is an expected wait for a new conversation in a queue.
type Estimate struct {
	// Low and High bound the expected wait.
	Low, High time.Duration
	// Enough is false when there were too few measured waits or no agent
	// online: the range is then a guess and should not be told to customers.
	Enough bool
	// Samples is how many recent waits the estimate used.
	Samples int
	// AgentsOnline and Waiting are what the queue looked like.
	AgentsOnline, Waiting int
}

// samples is what estimates use of a queue's measured waits and handle
// times, worked out once when they are read (they are reused for a second,
// by every estimate in it: see samplesFresh).
type samples struct {
	waits      int           // how many waits were measured
	p50, p90   time.Duration // of the waits
	handles    int           // how many handle times were measured
	meanHandle time.Duration
}

func summarize(waits, handles []time.Duration) samples {
	sm := samples{waits: len(waits), handles: len(handles)}
	if len(waits) > 0 {
		w := slices.Clone(waits)
		slices.Sort(w)
		sm.p50 = w[(len(w)-1)*50/100]
		sm.p90 = w[(len(w)-1)*90/100]
	}
	if len(handles) > 0 {
		var sum time.Duration
		for _, h := range handles {
			sum += h
		}
		sm.meanHandle = sum / time.Duration(len(handles))
	}
	return sm
}

// estimate combines what recent customers actually waited with what the
// queue in front of a new customer implies. Recent waits (median to 90th
// percentile) describe a steady queue; a queue that just grew is described
// by the model: conversations ahead times the mean handle time, divided by
// the agents online (not by all agents, a mistake that makes estimates too
// rosy when half the team is away). The range spans both.
func estimate(sm samples, agents, waiting int) Estimate {
	est := Estimate{Samples: sm.waits, AgentsOnline: agents, Waiting: waiting}
	if agents == 0 {
		return est
	}
	low, high := sm.p50, sm.p90
	if sm.handles > 0 {
		model := time.Duration(waiting) * sm.meanHandle / time.Duration(agents)
		low, high = min(low, model), max(high, model)
		if sm.waits == 0 {
			low = model
		}
	}
	est.Low, est.High = low, high
	est.Enough = sm.waits >= MinEstimateSamples
	return est
}

// Estimate returns the expected wait for a conversation entering queue now,
// from the last waits and handle times measured in that queue and the
// agents online for it.
func (e *Engine) Estimate(ctx context.Context, queue string) (Estimate, error) {
	if _, ok := e.queues[queue]; !ok {
		return Estimate{}, fmt.Errorf("routing: estimate %q: %w", queue, ErrUnknownQueue)
	}
	var online *redis.IntCmd
	sizes := make([]*redis.IntCmd, len(channels))
	smp, err := e.readWithSamples(ctx, queue, func(p redis.Pipeliner) {
		online = p.SCard(ctx, e.k.online(queue))
		for i, ch := range channels {
			sizes[i] = p.ZCard(ctx, e.k.queue(queue, ch))
		}
	})
	if err != nil {
		return Estimate{}, fmt.Errorf("routing: estimate %s: %w", queue, err)
	}
	waiting := 0
	for _, s := range sizes {
		waiting += int(s.Val())
	}
	return estimate(smp.samples, int(online.Val()), waiting), nil
}

// samplesFresh is how long estimates reuse a queue's measured waits and
// handle times. They are the last 200 conversations' figures and move
// slowly; what moves fast (agents online, conversations waiting, the
// place) is read for every estimate. Reading and parsing both lists, up
// to 250 entries each, for every SMS acknowledgement took about 5% of the
// gateway's CPU per contact.
const samplesFresh = time.Second

// queueSamples are a queue's measured waits and handle times as read at a
// moment; shared by the estimates that reuse them, so never changed.
type queueSamples struct {
	at time.Time
	samples
}

// readWithSamples runs the commands live adds in one pipeline, along with
// the queue's samples unless those read less than samplesFresh ago (by the
// engine's clock) can be reused.
func (e *Engine) readWithSamples(ctx context.Context, queue string, live func(redis.Pipeliner)) (queueSamples, error) {
	now := e.clock.Now()
	e.samplesMu.Lock()
	smp, ok := e.samples[queue]
	e.samplesMu.Unlock()
	fresh := ok && now.Sub(smp.at) < samplesFresh && !now.Before(smp.at)
	var waits, handles *redis.StringSliceCmd
	_, err := e.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		if !fresh {
			waits = p.LRange(ctx, e.k.waits(queue), 0, -1)
			handles = p.LRange(ctx, e.k.handles(queue), 0, -1)
		}
		live(p)
		return nil
	})
	if err != nil {
		return queueSamples{}, err
	}
	if !fresh {
		smp = queueSamples{at: now, samples: summarize(durations(waits.Val()), durations(handles.Val()))}
		e.samplesMu.Lock()
		e.samples[queue] = smp
		e.samplesMu.Unlock()
	}
	return smp, nil
}

func durations(ss []string) []time.Duration {
	out := make([]time.Duration, 0, len(ss))
	for _, s := range ss {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
	}
	return out
}
