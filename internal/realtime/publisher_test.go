package realtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

// commandCounter counts the commands go-redis starts to send: alone, and
// in pipelines (to see that concurrent publishes did share round trips).
type commandCounter struct{ single, pipelines, pipelined atomic.Int64 }

func (h *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.single.Add(1)
		return next(ctx, cmd)
	}
}
func (h *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		h.pipelined.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// holdWriter pauses Redis's writes for d and gets one publish of h stuck
// in flight behind the pause, so what is published next stays queued.
func holdWriter(t *testing.T, h *Hub, admin *redis.Client, counter *commandCounter, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	// PUBLISH counts as a write: paused, it waits in Redis.
	if err := admin.Do(ctx, "CLIENT", "PAUSE", strconv.Itoa(int(d.Milliseconds())), "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	before := counter.single.Load()
	go func() { _ = h.Publish(ctx, "blocker", []byte("held")) }()
	eventually(t, "a publish in flight", func() bool {
		return counter.single.Load() > before
	})
}

// collect attaches a pipe client to h subscribed to topics and returns a
// function that reads n messages from it.
func collect(t *testing.T, h *Hub, topics ...string) func(n int) []string {
	t.Helper()
	p := NewPipe()
	c, err := h.Attach(p, ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range topics {
		if err := c.Subscribe(context.Background(), topic); err != nil {
			t.Fatal(err)
		}
	}
	return func(n int) []string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out := make([]string, 0, n)
		for len(out) < n {
			m, err := p.ClientRecv(ctx)
			if err != nil {
				t.Errorf("%v: after %d of %d messages: %v", topics, len(out), n, err)
				return out
			}
			out = append(out, string(m))
		}
		return out
	}
}

// Many publishers on one gateway, each publishing in sequence on its own
// agent topic and on a shared one, with a Leave halfway: the other gateway
// sees each publisher's frames in its order, and the Leave in its place
// (the conversation frame published after it reaches nobody), while the
// publishes really did share round trips.
func TestPublishOrderAcrossGatewaysUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, redistest.Options{})
	pubClient := s.NewClient(t)
	counter := &commandCounter{}
	pubClient.AddHook(counter)
	h1 := newHub(t, Config{Redis: pubClient, Workspace: "acme"})
	h2 := newHub(t, Config{Redis: s.NewClient(t), Workspace: "acme", MaxQueueBytes: 16 << 20})

	const publishers, each = 16, 150
	agents := make([]func(int) []string, publishers)
	for i := range publishers {
		agents[i] = collect(t, h2, fmt.Sprintf("agent:%d", i), fmt.Sprintf("conv:%d", i))
	}
	supervisors := collect(t, h2, "supervisor")

	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range publishers {
		wg.Go(func() {
			agent, conv := fmt.Sprintf("agent:%d", i), fmt.Sprintf("conv:%d", i)
			for k := range each {
				if k == each/2 {
					for _, err := range []error{
						h1.Publish(ctx, conv, []byte(fmt.Sprintf("%d before leave", i))),
						h1.Leave(ctx, agent, conv),
						h1.Publish(ctx, conv, []byte(fmt.Sprintf("%d after leave", i))),
					} {
						if err != nil {
							t.Error(err)
						}
					}
				}
				msg := []byte(fmt.Sprintf("%d %d", i, k))
				if err := h1.Publish(ctx, agent, msg); err != nil {
					t.Error(err)
				}
				if err := h1.Publish(ctx, "supervisor", msg); err != nil {
					t.Error(err)
				}
			}
		})
	}
	var got sync.Map
	var readers sync.WaitGroup
	for i := range publishers {
		readers.Go(func() { got.Store(i, agents[i](each+1)) })
	}
	var all []string
	readers.Go(func() { all = supervisors(publishers * each) })
	wg.Wait()
	readers.Wait()

	for i := range publishers {
		var want []string
		for k := range each {
			if k == each/2 {
				want = append(want, fmt.Sprintf("%d before leave", i))
			}
			want = append(want, fmt.Sprintf("%d %d", i, k))
		}
		v, _ := got.Load(i)
		if !slices.Equal(v.([]string), want) {
			t.Errorf("agent %d's console saw\n%v\nwant\n%v", i, v, want)
		}
	}
	next := make([]int, publishers)
	for _, m := range all {
		a, b, _ := strings.Cut(m, " ")
		i, _ := strconv.Atoi(a)
		k, _ := strconv.Atoi(b)
		if k != next[i] {
			t.Fatalf("supervisor saw publisher %d's frame %d after %d: out of order", i, k, next[i]-1)
		}
		next[i]++
	}
	if counter.pipelined.Load() == 0 {
		t.Error("16 concurrent publishers never shared a round trip")
	}
}

// With Redis gone, every concurrent publisher (and Leave) gets its own
// error; once Redis is back, publishing works again without a restart.
func TestPublishErrorsReachEveryCallerWhenRedisStops(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, redistest.Options{})
	h := newHub(t, Config{Redis: s.NewClient(t)})
	ctx := context.Background()
	if err := h.Publish(ctx, "agent:ana", []byte("up")); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	var wg sync.WaitGroup
	errs := make(chan error, 33)
	for i := range 32 {
		wg.Go(func() { errs <- h.Publish(ctx, "agent:"+strconv.Itoa(i), []byte("down")) })
	}
	wg.Go(func() { errs <- h.Leave(ctx, "agent:ana", "conv:1") })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil || errors.Is(err, ErrShuttingDown) || errors.Is(err, context.Canceled) {
			t.Fatalf("publish with Redis stopped: %v, want Redis's error", err)
		}
	}
	if err := s.Restart(redistest.Options{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "publishing again after Redis came back", func() bool {
		return h.Publish(ctx, "agent:ana", []byte("back")) == nil
	})
}

// Shutdown sends what is queued: publishers are held up by a paused Redis
// so the queue fills, Shutdown begins and returns once it was sent; every
// publish whose caller was told it succeeded reached the other gateway, in
// order, and publishing keeps working after Shutdown (a gateway still
// draining its background work must reach the other gateways' consoles).
func TestShutdownSendsQueuedPublishes(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, redistest.Options{})
	admin := s.NewClient(t)
	pubClient, counter := s.NewClient(t), &commandCounter{}
	pubClient.AddHook(counter)
	h1, err := New(Config{Redis: pubClient, MaxPendingPublishes: 64})
	if err != nil {
		t.Fatal(err)
	}
	h2 := newHub(t, Config{Redis: s.NewClient(t), MaxQueueBytes: 16 << 20})
	const publishers = 8
	readers := make([]func(int) []string, publishers)
	for i := range publishers {
		readers[i] = collect(t, h2, "agent:"+strconv.Itoa(i))
	}

	ctx := context.Background()
	holdWriter(t, h1, admin, counter, 2*time.Second)
	acked := make([]int, publishers)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := range publishers {
		wg.Go(func() {
			topic := "agent:" + strconv.Itoa(i)
			for k := 0; !stop.Load(); k++ {
				if err := h1.Publish(ctx, topic, []byte(strconv.Itoa(k))); err != nil {
					t.Errorf("publisher %d: %v", i, err)
					return
				}
				acked[i]++
			}
		})
	}
	eventually(t, "every publisher's first publish queued", func() bool { return h1.broker.pub.queued() == publishers })
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := h1.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := h1.broker.pub.queued(); n != 0 {
		t.Fatalf("%d publishes still queued after Shutdown", n)
	}
	stop.Store(true)
	wg.Wait()
	if err := h1.Publish(ctx, "agent:0", []byte("late")); err != nil {
		t.Fatalf("publish after Shutdown: %v", err)
	}
	for i := range publishers {
		n := acked[i]
		if i == 0 {
			n++
		}
		got := readers[i](n)
		for k, m := range got {
			want := strconv.Itoa(k)
			if i == 0 && k == acked[0] {
				want = "late"
			}
			if m != want {
				t.Fatalf("publisher %d: message %d is %q, want %q", i, k, m, want)
			}
		}
	}
}

// A full queue holds publishers back: with Redis paused and room for three,
// a publisher whose context ends while it waits for room is told so, and
// the queue never grows past its cap.
func TestPublishBackPressure(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t, redistest.Options{})
	admin := s.NewClient(t)
	client, counter := s.NewClient(t), &commandCounter{}
	client.AddHook(counter)
	h := newHub(t, Config{Redis: client, MaxPendingPublishes: 3})
	ctx := context.Background()
	holdWriter(t, h, admin, counter, 2*time.Second)
	// Two queued behind the one in flight fill it; a fourth waits for room.
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			if err := h.Publish(ctx, "agent:"+strconv.Itoa(i), []byte("x")); err != nil {
				t.Errorf("queued publish %d: %v", i, err)
			}
		})
	}
	eventually(t, "queue full", func() bool { return h.broker.pub.queued() == 2 })
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := h.Publish(short, "agent:late", []byte("y")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish into a full queue: %v, want the context's deadline", err)
	}
	if n := h.broker.pub.queued(); n > 2 {
		t.Fatalf("%d queued behind the one in flight, cap 3 in all", n)
	}
	wg.Wait() // the pause ends and the queued ones go out
}

// queued reports how many publishes wait behind the round trip in flight.
func (p *publisher) queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}
