package realtime

import (
	"sync"
	"sync/atomic"
	"time"
)

// handlerIdle is how long a handler goroutine waits for the next message
// before it ends, giving back the stack it grew.
const handlerIdle = 5 * time.Second

// handlers run the connections' message handlers (Conn.handleApart) on
// goroutines that outlive one message. A handler goes deep (Redis, JSON,
// templates), so a goroutine started for each message grew its stack from
// its first few kilobytes every time: copying stacks was a tenth of a
// gateway's CPU under a stream of chat messages. A goroutine that has
// handled one message waits handlerIdle for another, from any
// connection, then ends, so a quiet gateway keeps no grown stacks.
type handlers struct {
	jobs     chan handlerJob // unbuffered: taken only by a waiting goroutine
	quit     chan struct{}   // closed by stop: waiting goroutines end
	stopOnce sync.Once
	idle     time.Duration // handlerIdle; shorter in tests
	live     atomic.Int64  // goroutines handling or waiting
}

type handlerJob struct {
	c    *Conn
	msg  []byte
	done chan<- error // the reader's, buffered, one message at a time
}

func newHandlers() *handlers {
	return &handlers{jobs: make(chan handlerJob), quit: make(chan struct{}), idle: handlerIdle}
}

// run hands msg to a waiting goroutine, or starts one, and returns what
// the handler returned. done is the caller's: buffered, reused for every
// message of one reader.
func (h *handlers) run(c *Conn, msg []byte, done chan error) error {
	j := handlerJob{c: c, msg: msg, done: done}
	select {
	case h.jobs <- j:
	default:
		go h.work(j)
	}
	return <-done
}

func (h *handlers) work(j handlerJob) {
	h.live.Add(1)
	defer h.live.Add(-1)
	idle := time.NewTimer(h.idle)
	defer idle.Stop()
	for {
		j.done <- j.c.handle(j.msg)
		j = handlerJob{} // hold nothing of the last message while waiting
		idle.Reset(h.idle)
		select {
		case j = <-h.jobs:
		case <-idle.C:
			return
		case <-h.quit:
			return
		}
	}
}

// stop ends the waiting goroutines; one still handling ends after it.
func (h *handlers) stop() { h.stopOnce.Do(func() { close(h.quit) }) }
