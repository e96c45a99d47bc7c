package realtime

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// maxBatch bounds the PUBLISH commands sent as one pipeline, so one batch
// never becomes one enormous write and read.
const maxBatch = 256

// publisher sends this gateway's PUBLISH commands to Redis, sharing round
// trips among concurrent publishers, as a database shares a log flush among
// concurrent commits. A publish that finds nothing in flight is sent at
// once, on its caller's goroutine: no timer, no hand-off, the same single
// round trip as a plain PUBLISH. Publishes that arrive while a round trip
// is in flight queue behind it; when it is answered, the writer goroutine
// sends everything queued (up to maxBatch) as one pipeline, and again for
// what queued meanwhile, until nothing is left. Batches form only when
// callers arrive faster than Redis answers — under load, which is when the
// round trips (system calls on both sides) cost the most CPU.
//
// Order: one round trip is in flight at a time, and the queue is first in,
// first out, written in its order on one connection. So a publish queued
// before another is applied by Redis, and seen by every other gateway,
// before it. A caller that waits for Publish (or Leave) to return before
// its next one keeps its order; so does one whose Publish returned early
// because its context ended, since the abandoned publish is either dropped
// before it is sent or sent ahead of the next.
//
// Memory: at most the slots' capacity of publishes are queued or in
// flight; a caller that finds none free waits for one within its context
// (back-pressure), never adding to an unbounded queue.
type publisher struct {
	rdb   redis.UniversalClient
	slots chan struct{} // one taken per publish queued or in flight

	// ctx is for the Redis calls: ended by close when a shutdown's deadline
	// passes before the queue drained.
	ctx   context.Context
	abort context.CancelFunc

	mu      sync.Mutex
	pending []*pubReq // queued behind the round trip in flight, oldest first
	spare   []*pubReq // the other backing array, swapped in by the writer
	sending bool      // a round trip is in flight, or the writer owns the queue
	closed  bool

	kick    chan struct{} // buffered: the writer has the queue to send
	closing chan struct{} // closed by close: callers waiting for a slot give up
	once    sync.Once
	done    chan struct{} // closed once closed and nothing is queued or in flight
}

// pubReq is one queued publish and where its result goes.
type pubReq struct {
	ctx    context.Context // the caller's: a publish whose caller gave up before it was sent is dropped
	ch     string
	msg    []byte
	result chan error // buffered: the sender never waits for the caller
}

func newPublisher(rdb redis.UniversalClient, capacity int) *publisher {
	ctx, abort := context.WithCancel(context.Background())
	return &publisher{
		rdb:     rdb,
		slots:   make(chan struct{}, capacity),
		ctx:     ctx,
		abort:   abort,
		kick:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// publish sends msg to ch and waits for Redis to take it (or for ctx to
// end). Its error is Redis's answer to this one command, the failure of
// the batch it went in, or ctx's error. When ctx ends first, the publish
// may still be sent (it was already on its way) or be dropped; either way
// it never overtakes a later one.
func (p *publisher) publish(ctx context.Context, ch string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.closing:
		return p.afterClose(ctx, ch, msg)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return p.afterClose(ctx, ch, msg)
	}
	if !p.sending {
		// Nothing in flight, so nothing queued: send it now, here, as a
		// plain PUBLISH. Under the publisher's context, like the batches:
		// a caller's deadline must not cut a written PUBLISH short (with
		// go-redis's ContextTimeoutEnabled it would), or the next round
		// trip could overtake it.
		p.sending = true
		p.mu.Unlock()
		err := p.wrap(p.rdb.Publish(p.ctx, ch, msg).Err())
		<-p.slots
		p.handOff()
		return err
	}
	r := &pubReq{ctx: ctx, ch: ch, msg: msg, result: make(chan error, 1)}
	p.pending = append(p.pending, r)
	p.mu.Unlock()
	select {
	case err := <-r.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// afterClose publishes once the hub has shut down: the gateway may still be
// draining its background work (routing events whose frames go to consoles
// on other gateways), so the publish still goes out, as a plain PUBLISH,
// once what was queued before close has been sent (so it overtakes
// nothing).
func (p *publisher) afterClose(ctx context.Context, ch string, msg []byte) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := p.rdb.Publish(ctx, ch, msg).Err(); err != nil {
		return fmt.Errorf("redis publish: %w", err)
	}
	return nil
}

// handOff ends a caller's own round trip: what queued behind it goes to
// the writer; if nothing did, sending is over.
func (p *publisher) handOff() {
	p.mu.Lock()
	if len(p.pending) == 0 {
		p.idleLocked()
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.kick <- struct{}{} // never blocks: only the owner of sending kicks
}

// idleLocked marks that no round trip is in flight; p.mu is held.
func (p *publisher) idleLocked() {
	p.sending = false
	if p.closed {
		close(p.done)
	}
}

// run is the writer: kicked with a queue to send, it sends batches until
// the queue is empty. It returns once close was called and every queued
// publish was answered.
func (p *publisher) run() {
	for {
		select {
		case <-p.kick:
		case <-p.done:
			return
		}
		for {
			p.mu.Lock()
			batch := p.pending
			if len(batch) > maxBatch {
				batch = append(p.spare[:0], p.pending[:maxBatch]...)
				p.pending = append(p.pending[:0], p.pending[maxBatch:]...)
			} else {
				p.pending = p.spare[:0]
			}
			p.mu.Unlock()
			p.send(batch)
			clear(batch) // let the sent payloads go
			p.mu.Lock()
			p.spare = batch[:0]
			if len(p.pending) == 0 {
				p.idleLocked()
				p.mu.Unlock()
				break
			}
			p.mu.Unlock()
		}
	}
}

// send writes batch as one round trip and gives each caller its answer.
func (p *publisher) send(batch []*pubReq) {
	defer func() {
		for range batch {
			<-p.slots
		}
	}()
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.result <- err // the caller gave up before it was sent: drop it
			continue
		}
		live = append(live, r)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		r := live[0]
		r.result <- p.wrap(p.rdb.Publish(p.ctx, r.ch, r.msg).Err())
		return
	}
	pipe := p.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(live))
	for i, r := range live {
		cmds[i] = pipe.Publish(p.ctx, r.ch, r.msg)
	}
	_, _ = pipe.Exec(p.ctx) // each command carries its own error
	for i, r := range live {
		r.result <- p.wrap(cmds[i].Err())
	}
}

func (p *publisher) wrap(err error) error {
	if err == nil {
		return nil
	}
	if p.ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return ErrShuttingDown
	}
	return fmt.Errorf("redis publish: %w", err)
}

// close stops batching (later publishes, and callers still waiting for a
// slot, go out one by one after the queue: afterClose) and waits, within
// ctx, until what is queued or in flight has been sent. If ctx ends first
// it returns ctx's error and aborts: what is not yet on the wire fails with
// ErrShuttingDown, and the writer ends when the batch in flight is answered
// or times out.
func (p *publisher) close(ctx context.Context) error {
	p.once.Do(func() {
		close(p.closing)
		p.mu.Lock()
		p.closed = true
		if !p.sending {
			close(p.done)
		}
		p.mu.Unlock()
	})
	defer p.abort()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
