package routing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestConsumeHandsEachEventToOneGateway(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	gw1, gw2 := gateway(t, ws), gateway(t, ws)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var mu sync.Mutex
	seen := map[string][]string{} // event id -> consumers that handled it
	failOnce := map[string]bool{}
	handler := func(name string, failFirst bool) func(context.Context, Event) error {
		return func(_ context.Context, ev Event) error {
			mu.Lock()
			defer mu.Unlock()
			// The first gateway fails its first event, as a crash mid-event
			// would: another consumer must claim and handle it.
			if failFirst && !failOnce[name] {
				failOnce[name] = true
				return errors.New("boom")
			}
			seen[ev.ID] = append(seen[ev.ID], name)
			return nil
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, gw := range []*Engine{gw1, gw2} {
		name := fmt.Sprintf("gw%d", i+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := gw.Consume(runCtx, ConsumeParams{Group: "test", Consumer: name,
				Handle: handler(name, name == "gw1"), ClaimAfter: 300 * time.Millisecond, Batch: 4})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	// Let both create or join the group before events are written.
	time.Sleep(200 * time.Millisecond)
	const n = 40
	for i := 0; i < n; i++ {
		if err := gw1.Enqueue(ctx, Request{ConversationID: fmt.Sprintf("c%d", i), Channel: chChat}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := gw1.Events(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		done := len(seen) >= len(all)
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if len(all) < n {
		t.Fatalf("only %d events written", len(all))
	}
	for _, ev := range all {
		if got := seen[ev.ID]; len(got) != 1 {
			t.Errorf("event %s (%s) handled by %v; want exactly one consumer", ev.ID, ev.Type, got)
		}
	}
}

func TestConsumeNeedsGroupConsumerAndHandler(t *testing.T) {
	t.Parallel()
	e, err := New(Params{Client: shared.Connect(t), Workspace: workspace(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Consume(context.Background(), ConsumeParams{Group: "g"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v; want ErrInvalid", err)
	}
}

// TestConsumeKeepsOrderPerConversationAndRunsOthersInParallel: one
// conversation's events arrive in stream order while a stuck conversation
// does not hold the others up, and every handled event is acknowledged.
func TestConsumeKeepsOrderPerConversationAndRunsOthersInParallel(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	gw := gateway(t, ws)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	release := make(chan struct{})
	var mu sync.Mutex
	order := map[string][]string{} // conversation -> event ids handled
	handled := 0
	handle := func(ctx context.Context, ev Event) error {
		if ev.ConversationID == "stuck" {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		mu.Lock()
		defer mu.Unlock()
		order[ev.ConversationID] = append(order[ev.ConversationID], ev.ID)
		handled++
		return nil
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- gw.Consume(runCtx, ConsumeParams{Group: "order", Consumer: "gw", Handle: handle, Batch: 8, Workers: 4})
	}()
	time.Sleep(200 * time.Millisecond)
	// Each conversation gets an enqueue and an abandon: two events in order.
	ids := []string{"stuck"}
	for i := range 30 {
		ids = append(ids, fmt.Sprintf("c%d", i))
	}
	for _, id := range ids {
		if err := gw.Enqueue(ctx, Request{ConversationID: id, Channel: chChat}); err != nil {
			t.Fatal(err)
		}
		if err := gw.Abandon(ctx, id, CauseCustomer); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting until %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Conversations sharing the stuck one's worker wait behind it; the
	// others finish while it is stuck. The partition is a seeded hash, so
	// how many share its worker varies by run (7.5 of 30 on average, 11 or
	// more about one run in ten): 10 handled is what any partition gives,
	// and a serial consumer gives none, since the stuck one comes first.
	waitFor("others are handled while one is stuck", func() bool { return len(order) >= 10 })
	mu.Lock()
	if len(order["stuck"]) != 0 {
		t.Errorf("stuck conversation handled before release")
	}
	mu.Unlock()
	close(release)
	waitFor("every event is handled", func() bool { return handled == 2*len(ids) })
	all, err := gw.Events(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for _, ev := range all {
		want[ev.ConversationID] = append(want[ev.ConversationID], ev.ID)
	}
	mu.Lock()
	for id, got := range order {
		if fmt.Sprint(got) != fmt.Sprint(want[id]) {
			t.Errorf("conversation %s handled as %v; stream order is %v", id, got, want[id])
		}
	}
	mu.Unlock()
	// Acknowledgements are batched but all sent.
	var pending int64
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		p, err := gw.c.XPending(ctx, gw.k.events(), "order").Result()
		if err != nil {
			t.Fatal(err)
		}
		if pending = p.Count; pending == 0 {
			break
		}
	}
	if pending != 0 {
		t.Errorf("%d events still pending after they were handled", pending)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConsumerLagsCountEventsNotYetHandled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := New(Params{Client: shared.Connect(t), Workspace: workspace(t)})
	if err != nil {
		t.Fatal(err)
	}
	if lags, err := e.ConsumerLags(ctx); err != nil || len(lags) != 0 {
		t.Fatalf("before any group: %v, %v", lags, err)
	}
	// A group that handles nothing: it falls behind by every event.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	block := make(chan struct{})
	go func() {
		_ = e.Consume(cctx, ConsumeParams{Group: "slow", Consumer: "c1", Batch: 1,
			Handle: func(ctx context.Context, _ Event) error {
				select {
				case <-block:
				case <-ctx.Done():
				}
				return ctx.Err()
			}})
		close(done)
	}()
	defer func() { close(block); cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lags, err := e.ConsumerLags(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(lags) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("group never created")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 5 {
		if err := e.Enqueue(ctx, Request{ConversationID: fmt.Sprintf("c%d", i), Channel: "chat"}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		lags, err := e.ConsumerLags(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Every event is either read and stuck with a worker (pending) or
		// not read yet (lag): the reader runs ahead of the handlers into
		// the workers' queues, so how they split is not fixed.
		if len(lags) == 1 && lags[0].Group == "slow" && lags[0].Pending >= 1 && lags[0].Pending+lags[0].Lag == 5 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lags = %+v; want group slow with 5 events pending or lagging", lags)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
