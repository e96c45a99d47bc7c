package store

import (
	"context"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Batcher is a redis.Scripter (what redis.Script.Run takes) that sends
// script calls made at the same time by many goroutines as one pipeline. A
// call that finds no pipeline out is sent at once, on the caller's
// goroutine; calls made while one is out wait in a queue and go out
// together as soon as it returns. There is no timer: nothing waits for
// company, a lone call costs one round trip as before, and under load one
// write and one read on each end serve many calls instead of one each.
// The price is latency: a call that finds a pipeline out waits for it.
// Routing's engine sends its scripts through one; the conversation
// service does not, since on a customer's message the wait cost more than
// the shared round trips saved (docs/benchmarks.md).
// Every call is still its own EVALSHA, so each stays one atomic script,
// and runs at most once per call (sentOnce). While a lone call waits out
// the client's slot retry (a Redis Cluster resharding), later calls wait
// behind it.
type Batcher struct {
	c redis.UniversalClient

	mu    sync.Mutex
	queue []*batchedCall
	// inFlight is set while a pipeline is out. One at a time: measured
	// against two (and go-redis's autopipeliner, which waits for expected
	// arrivals before flushing), one gave the lowest tail latency at 1,000
	// and 3,000 calls/s on 2 shared cores.
	inFlight bool
}

// NewBatcher batches the script calls made through it on c.
func NewBatcher(c redis.UniversalClient) *Batcher { return &Batcher{c: c} }

var _ redis.Scripter = (*Batcher)(nil)

// maxBatch bounds one pipeline, so one write stays small.
const maxBatch = 128

type batchedCall struct {
	ctx   context.Context
	issue func(redis.Scripter) *redis.Cmd
	cmd   *redis.Cmd
	done  chan struct{}
	taken bool // by a flusher, under mu: it will answer, whatever ctx does
}

// sentOnce is a command that go-redis must not send again. go-redis
// re-sends a whole pipeline when its first command gets a retryable error
// (TRYAGAIN, LOADING, READONLY…), which would run every other script of
// the batch a second time; one command that refuses retries stops that.
// A script refused that way ran nothing, and do sends it again on its own.
type sentOnce struct{ *redis.Cmd }

func (sentOnce) NoRetry() bool { return true }

// EvalSha runs a loaded script, batched with whatever else is being sent.
func (b *Batcher) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return b.do(ctx, func(s redis.Scripter) *redis.Cmd { return s.EvalSha(ctx, sha1, keys, args...) })
}

// EvalShaRO is EvalSha for a read-only script.
func (b *Batcher) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return b.do(ctx, func(s redis.Scripter) *redis.Cmd { return s.EvalShaRO(ctx, sha1, keys, args...) })
}

// Eval sends a script's whole text, which redis.Script.Run does only when
// Redis does not know it yet (after a restart or a flush): rare and
// large, so it goes on its own.
func (b *Batcher) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return b.c.Eval(ctx, script, keys, args...)
}

// EvalRO is Eval for a read-only script.
func (b *Batcher) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return b.c.EvalRO(ctx, script, keys, args...)
}

// ScriptExists asks Redis directly.
func (b *Batcher) ScriptExists(ctx context.Context, hashes ...string) *redis.BoolSliceCmd {
	return b.c.ScriptExists(ctx, hashes...)
}

// ScriptLoad loads a script directly.
func (b *Batcher) ScriptLoad(ctx context.Context, script string) *redis.StringCmd {
	return b.c.ScriptLoad(ctx, script)
}

func (b *Batcher) do(ctx context.Context, issue func(redis.Scripter) *redis.Cmd) *redis.Cmd {
	b.mu.Lock()
	if !b.inFlight && len(b.queue) == 0 {
		// Nothing out and nothing waiting: send it now, from this goroutine.
		b.inFlight = true
		b.mu.Unlock()
		cmd := issue(b.c)
		b.release()
		return cmd
	}
	c := &batchedCall{ctx: ctx, issue: issue, done: make(chan struct{})}
	b.queue = append(b.queue, c)
	if !b.inFlight {
		b.inFlight = true
		go b.flush()
	}
	b.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		b.mu.Lock()
		taken := c.taken
		b.mu.Unlock()
		if !taken {
			// No flusher has it; the one that takes it will skip it.
			return failed(ctx, ctx.Err())
		}
		// It may be running: its answer, not ctx's, says what happened.
		<-c.done
	}
	if err := c.cmd.Err(); err != nil && (SlotMoving(err) || retryable(err)) {
		// A pipeline passes the client's retries by (slotRetryHook, and
		// sentOnce). A script refused that way ran nothing: it goes again
		// on its own, through them.
		return issue(b.c)
	}
	return c.cmd
}

// retryable is a refusal Redis gives before running anything, which
// go-redis retries for a lone command: the server is loading its data, is
// a replica just now, or its cluster is down.
func retryable(err error) bool {
	for _, p := range []string{"LOADING ", "READONLY ", "CLUSTERDOWN ", "MASTERDOWN "} {
		if strings.HasPrefix(err.Error(), p) {
			return true
		}
	}
	return false
}

func failed(ctx context.Context, err error) *redis.Cmd {
	cmd := redis.NewCmd(ctx)
	cmd.SetErr(err)
	return cmd
}

// release ends a send: if calls queued meanwhile and no flusher took them,
// the slot goes on sending them.
func (b *Batcher) release() {
	b.mu.Lock()
	if len(b.queue) > 0 {
		b.mu.Unlock()
		go b.flush()
		return
	}
	b.inFlight = false
	b.mu.Unlock()
}

// flush sends queued calls until none is left, holding the in-flight slot.
func (b *Batcher) flush() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxBatch)
		if n == 0 {
			b.inFlight = false
			b.mu.Unlock()
			return
		}
		batch := make([]*batchedCall, n)
		copy(batch, b.queue)
		for _, c := range batch {
			c.taken = true
		}
		rest := copy(b.queue, b.queue[n:])
		clear(b.queue[rest:])
		b.queue = b.queue[:rest]
		b.mu.Unlock()
		b.send(batch)
		for _, c := range batch {
			close(c.done)
		}
	}
}

// send runs the calls, one pipeline for several, and leaves each its reply.
func (b *Batcher) send(batch []*batchedCall) {
	live := batch[:0:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.cmd = failed(c.ctx, err)
			continue
		}
		live = append(live, c)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		live[0].cmd = live[0].issue(b.c)
		return
	}
	// The pipeline carries several callers' calls: one caller giving up
	// must not fail the others, so it runs without their cancellation.
	// Each call is built by go-redis (a pipeline that is never sent does
	// that), then sent wrapped as sentOnce.
	build, p := b.c.Pipeline(), b.c.Pipeline()
	for _, c := range live {
		c.cmd = c.issue(build)
		_ = p.Process(c.ctx, sentOnce{c.cmd})
	}
	build.Discard()
	_, _ = p.Exec(context.WithoutCancel(live[0].ctx))
}
