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
// trips among concurrent publishers. One writer goroutine takes the oldest
// waiting publish and every other one queued behind it (up to maxBatch)
// and sends them as one pipeline; what arrives while that batch is in
// flight goes out together in the next. Nothing waits on a timer: a lone
// publish is sent at once, as before, and batches only form when callers
// arrive faster than Redis answers — under load, which is when the
// round trips (two system calls each, on both sides) cost the most CPU.
//
// Order: the queue is first in, first out, the commands of a batch are
// written in queue order on one connection, and a batch is sent only after
// the previous one was answered. So a publish queued before another is
// applied by Redis, and seen by every other gateway, before it. A caller
// that waits for Publish (or Leave) to return before its next one on the
// same channel keeps its order; so does one whose Publish returned early
// because its context ended, since the abandoned publish is either dropped
// before it is sent or sent ahead of the next.
//
// Memory: at most the queue's capacity of publishes wait; a caller that
// finds the queue full waits for room within its context (back-pressure),
// never adding to an unbounded slice.
type publisher struct {
	rdb   redis.UniversalClient
	queue chan *pubReq

	// ctx is the writer's, for the Redis calls: ended by abort, when a
	// shutdown's deadline passes before the queue drained.
	ctx   context.Context
	abort context.CancelFunc

	// mu makes "not closed, so enqueue" one step against close; closing
	// releases the callers waiting for room first, so close never waits
	// on a full queue.
	mu      sync.RWMutex
	closed  bool
	closing chan struct{}
	once    sync.Once
	done    chan struct{} // closed when the writer has answered every request
}

// pubReq is one waiting publish and where its result goes.
type pubReq struct {
	ctx    context.Context // the caller's: a publish whose caller gave up before it was sent is dropped
	ch     string
	msg    []byte
	result chan error // buffered: the writer never waits for the caller
}

func newPublisher(rdb redis.UniversalClient, capacity int) *publisher {
	ctx, abort := context.WithCancel(context.Background())
	return &publisher{
		rdb:     rdb,
		queue:   make(chan *pubReq, capacity),
		ctx:     ctx,
		abort:   abort,
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// publish queues msg for ch and waits for Redis to take it (or for ctx to
// end). Its error is Redis's answer to this one command, the failure of
// the batch it went in, ErrShuttingDown after close, or ctx's error. When
// ctx ends first, the publish may still be sent (it was already on its
// way) or be dropped; either way it never overtakes a later one.
func (p *publisher) publish(ctx context.Context, ch string, msg []byte) error {
	r := &pubReq{ctx: ctx, ch: ch, msg: msg, result: make(chan error, 1)}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return ErrShuttingDown
	}
	select {
	case p.queue <- r:
	case <-ctx.Done():
		p.mu.RUnlock()
		return ctx.Err()
	case <-p.closing:
		p.mu.RUnlock()
		return ErrShuttingDown
	}
	p.mu.RUnlock()
	select {
	case err := <-r.result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the writer. It returns once close was called and every queued
// publish was answered.
func (p *publisher) run() {
	defer close(p.done)
	batch := make([]*pubReq, 0, maxBatch)
	for r := range p.queue {
		batch = append(batch[:0], r)
	collect:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-p.queue:
				if !ok {
					break collect
				}
				batch = append(batch, r)
			default:
				break collect
			}
		}
		p.send(batch)
		clear(batch) // let the sent payloads go
	}
}

// send writes batch as one round trip and gives each caller its answer.
func (p *publisher) send(batch []*pubReq) {
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

// close refuses new publishes with ErrShuttingDown (callers still waiting
// for room in the queue too) and waits, within ctx, for the writer to send
// what is queued. If ctx ends first it returns ctx's error and aborts: what
// is not yet on the wire fails with ErrShuttingDown, and the writer ends
// when the batch in flight is answered or times out.
func (p *publisher) close(ctx context.Context) error {
	p.once.Do(func() {
		close(p.closing)
		p.mu.Lock()
		p.closed = true
		close(p.queue)
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
