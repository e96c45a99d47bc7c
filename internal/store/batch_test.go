package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

// holdHook holds the first EVALSHA sent on its own until release is
// closed, so a test can queue calls behind it; it counts what reaches
// Redis: single calls and pipelines of calls.
type holdHook struct {
	held      atomic.Bool
	entered   chan struct{}
	release   chan struct{}
	singles   atomic.Int64
	pipelines atomic.Int64
	piped     atomic.Int64
	// pipeHeld, when set, holds the first pipeline of calls until it is
	// closed; pipeEntered is closed when that pipeline arrives.
	pipeHeld    chan struct{}
	pipeEntered chan struct{}
}

func newHoldHook() *holdHook {
	return &holdHook{entered: make(chan struct{}), release: make(chan struct{})}
}

func (h *holdHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *holdHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" {
			h.singles.Add(1)
			if h.held.CompareAndSwap(false, true) {
				close(h.entered)
				<-h.release
			}
		}
		return next(ctx, cmd)
	}
}

func (h *holdHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		// Only script calls: a new connection's handshake is a pipeline too.
		n := 0
		for _, c := range cmds {
			if c.Name() == "evalsha" {
				n++
			}
		}
		if n > 0 {
			if h.pipelines.Add(1) == 1 && h.pipeHeld != nil {
				close(h.pipeEntered)
				<-h.pipeHeld
			}
			h.piped.Add(int64(n))
		}
		return next(ctx, cmds)
	}
}

func batchClient(t *testing.T) (*redis.Client, *holdHook) {
	t.Helper()
	srv := redistest.Start(t, redistest.Options{})
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { c.Close() })
	h := newHoldHook()
	c.AddHook(h)
	return c, h
}

// waitQueued waits until n calls wait behind the held one.
func waitQueued(t *testing.T, b *Batcher, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		q := len(b.queue)
		b.mu.Unlock()
		if q >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued; want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

var echoScript = redis.NewScript(`redis.call('SET', KEYS[1], ARGV[1]); return ARGV[1]`)

// heldBatcher is a Batcher whose first call (echoScript on k:first) is
// out and held by the hook until h.release is closed; first answers it.
// With holdPipe the hook holds the first pipeline too (h.pipeHeld).
func heldBatcher(t *testing.T, holdPipe bool) (*redis.Client, *holdHook, *Batcher, chan error) {
	t.Helper()
	c, h := batchClient(t)
	if holdPipe {
		h.pipeHeld, h.pipeEntered = make(chan struct{}), make(chan struct{})
	}
	ctx := context.Background()
	if err := echoScript.Load(ctx, c).Err(); err != nil {
		t.Fatal(err)
	}
	b := NewBatcher(c)
	first := make(chan error, 1)
	go func() { first <- echoScript.Run(ctx, b, []string{"k:first"}, "first").Err() }()
	<-h.entered
	return c, h, b, first
}

// Calls made while one is out go together, as one pipeline, and each
// caller gets its own script's reply.
func TestBatchedCallsShareARoundTripAndGetTheirOwnReplies(t *testing.T) {
	c, h, b, first := heldBatcher(t, false)
	ctx := context.Background()

	const n = 50
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = echoScript.Run(ctx, b, []string{fmt.Sprintf("k:%d", i)}, fmt.Sprint("v", i)).Text()
		})
	}
	waitQueued(t, b, n)
	close(h.release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if want := fmt.Sprint("v", i); errs[i] != nil || got[i] != want {
			t.Fatalf("call %d: %q, %v; want %q", i, got[i], errs[i], want)
		}
		if v, err := c.Get(ctx, fmt.Sprintf("k:%d", i)).Result(); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("k:%d = %q, %v", i, v, err)
		}
	}
	// The held call went alone; the n queued behind it in one pipeline.
	if p, piped, s := h.pipelines.Load(), h.piped.Load(), h.singles.Load(); p != 1 || piped != n || s != 1 {
		t.Fatalf("%d pipelines carrying %d calls, %d calls alone; want 1 carrying %d, 1 alone", p, piped, s, n)
	}
}

// A queued call whose context ends is not sent, and the others in its
// batch are not failed by it.
func TestBatchedCallWithEndedContextIsNotSent(t *testing.T) {
	c, h, b, first := heldBatcher(t, false)
	ctx := context.Background()

	gone, cancel := context.WithCancel(ctx)
	goneErr := make(chan error, 1)
	go func() { goneErr <- echoScript.Run(gone, b, []string{"k:gone"}, "gone").Err() }()
	stay := make(chan error, 1)
	waitQueued(t, b, 1)
	go func() { stay <- echoScript.Run(ctx, b, []string{"k:stay"}, "stay").Err() }()
	waitQueued(t, b, 2)
	cancel()
	if err := <-goneErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v; want context.Canceled", err)
	}
	close(h.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-stay; err != nil {
		t.Fatalf("call batched with a cancelled one: %v", err)
	}
	if n, err := c.Exists(ctx, "k:gone").Result(); err != nil || n != 0 {
		t.Fatalf("the cancelled call ran: exists=%d, %v", n, err)
	}
	if v, err := c.Get(ctx, "k:stay").Result(); err != nil || v != "stay" {
		t.Fatalf("k:stay = %q, %v", v, err)
	}
}

// A Redis that forgot the script (restart, SCRIPT FLUSH) still runs it:
// redis.Script.Run sends the text when EVALSHA says NOSCRIPT, batched or not.
func TestBatchedCallsSurviveAScriptFlush(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer c.Close()
	ctx := context.Background()
	b := NewBatcher(c)
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			v, err := echoScript.Run(ctx, b, []string{fmt.Sprintf("f:%d", i)}, fmt.Sprint(i)).Text()
			if err == nil && v != fmt.Sprint(i) {
				err = fmt.Errorf("got %q", v)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// go-redis sends a whole pipeline again when its first command is refused
// with a retryable error (TRYAGAIN, LOADING…); the other scripts of a batch
// must still run once.
func TestABatchRunsEachScriptOnceWhenOneIsRefused(t *testing.T) {
	c, h, b, first := heldBatcher(t, false)
	ctx := context.Background()
	refused := redis.NewScript(`return redis.error_reply('TRYAGAIN the slot is moving')`)
	incr := redis.NewScript(`return redis.call('INCR', KEYS[1])`)
	for _, sc := range []*redis.Script{refused, incr} {
		if err := sc.Load(ctx, c).Err(); err != nil {
			t.Fatal(err)
		}
	}
	refusedErr := make(chan error, 1)
	go func() { refusedErr <- refused.Run(ctx, b, []string{"k:r"}).Err() }()
	waitQueued(t, b, 1)
	counted := make(chan int64, 1)
	go func() {
		n, err := incr.Run(ctx, b, []string{"k:n"}).Int64()
		if err != nil {
			t.Error(err)
		}
		counted <- n
	}()
	waitQueued(t, b, 2)
	close(h.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-refusedErr; err == nil || !SlotMoving(err) {
		t.Fatalf("refused script: %v; want its TRYAGAIN", err)
	}
	if n := <-counted; n != 1 {
		t.Fatalf("the script batched after a refused one answered %d; want 1", n)
	}
	if n, err := c.Get(ctx, "k:n").Int64(); err != nil || n != 1 {
		t.Fatalf("k:n = %d, %v; the script ran more than once", n, err)
	}
}

// A call whose context ends once a flusher has taken it gets its script's
// answer: the script may already have run.
func TestABatchedCallTakenForSendingAnswersDespiteItsContext(t *testing.T) {
	_, h, b, first := heldBatcher(t, true)
	late, cancel := context.WithCancel(context.Background())
	answers := make(chan *redis.Cmd, 2)
	for _, k := range []string{"k:a", "k:b"} {
		go func() { answers <- b.EvalSha(late, echoScript.Hash(), []string{k}, k) }()
	}
	waitQueued(t, b, 2)
	close(h.release) // the held call returns; its flusher takes the two
	<-h.pipeEntered  // and is sending them
	cancel()
	close(h.pipeHeld)
	for range 2 {
		if cmd := <-answers; cmd.Err() != nil {
			t.Fatalf("%v: %v; want the script's answer", cmd.Args(), cmd.Err())
		}
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}
