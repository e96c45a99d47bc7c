package desk

import (
	"sync"
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
type closedHere struct {
	mu sync.Mutex
	at map[string]time.Time
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
