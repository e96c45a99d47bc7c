package desk

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// closedHereFor is how long the desk remembers a close it saw recorded.
// Routing's closed event follows its close within milliseconds; an event
// handled later than this reads the record, as before.
const closedHereFor = time.Minute

// closedHereCap bounds the memory; past it, entries older than
// closedHereFor go, and if none are that old, all go.
const closedHereCap = 100_000

// closedHere remembers the conversations whose close this gateway's
// conversation service recorded (the closing line reached Notify), so
// routing's closed event, handled here, need not read the record to learn
// that it is closed (repairClose). A close recorded elsewhere, or
// forgotten, costs the read, as before.
//
// It also knows the closes under way here: routing has let go, the record
// is not closed yet. Routing's closed event often arrives in that gap
// (about every other close under load); it then waits for the record here
// (await) instead of reading it too soon and asking to be handed out again.
type closedHere struct {
	mu       sync.Mutex
	at       map[string]time.Time
	underWay map[string]*closing

	// waiting counts the events waiting in await now.
	waiting atomic.Int64
}

// closing is the closes of one conversation under way here: done is closed
// when one of them is recorded (add) or all have ended.
type closing struct {
	done chan struct{}
	n    int
}

// begin notes that this gateway is about to ask routing to close convID.
// end is called once that close is recorded or has failed; it is safe to
// call after add.
func (c *closedHere) begin(convID string) (end func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.underWay == nil {
		c.underWay = map[string]*closing{}
	}
	cl := c.underWay[convID]
	if cl == nil {
		cl = &closing{done: make(chan struct{})}
		c.underWay[convID] = cl
	}
	cl.n++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.underWay[convID] != cl {
			return // settled by add
		}
		if cl.n--; cl.n == 0 {
			c.settleLocked(convID)
		}
	}
}

// settleLocked ends the closes under way of convID, if any.
func (c *closedHere) settleLocked(convID string) {
	if cl, ok := c.underWay[convID]; ok {
		delete(c.underWay, convID)
		close(cl.done)
	}
}

// await waits, for at most max and while ctx lasts, for a close of convID
// under way here to be recorded or to fail; at once when none is.
func (c *closedHere) await(ctx context.Context, convID string, max time.Duration) {
	c.mu.Lock()
	cl, ok := c.underWay[convID]
	c.mu.Unlock()
	if !ok {
		return
	}
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-cl.done:
	case <-t.C:
	case <-ctx.Done():
	}
}

// add remembers that convID's close, at recordedAt, was recorded here.
func (c *closedHere) add(convID string, recordedAt time.Time) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.at) >= closedHereCap {
		for id, t := range c.at {
			if now.Sub(t) >= closedHereFor {
				delete(c.at, id)
			}
		}
		if len(c.at) >= closedHereCap {
			c.at = nil
		}
	}
	if c.at == nil {
		c.at = map[string]time.Time{}
	}
	c.at[convID] = recordedAt
	c.settleLocked(convID)
}

// closeSkew is how much earlier than routing's close a close recorded here
// may say it happened and still be that close (the two clocks may differ).
// An older one was an earlier close of a conversation reopened since.
const closeSkew = time.Second

// take reports whether the close routing made at closedAt was recorded
// here lately, and forgets convID: routing tells of a close once.
func (c *closedHere) take(convID string, closedAt, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[convID]
	if ok {
		delete(c.at, convID)
	}
	return ok && now.Sub(t) < closedHereFor && !t.Before(closedAt.Add(-closeSkew))
}
