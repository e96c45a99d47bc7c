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
		if err := gw1.Enqueue(ctx, Request{ConversationID: fmt.Sprintf("c%d", i), Channel: ChannelChat}); err != nil {
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
	e, err := New(Params{Client: shared.NewClient(t), Workspace: workspace(t)})
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
		if err := gw.Enqueue(ctx, Request{ConversationID: id, Channel: ChannelChat}); err != nil {
			t.Fatal(err)
		}
		if err := gw.Abandon(ctx, id); err != nil {
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
	// others finish while it is stuck.
	waitFor("most conversations are handled while one is stuck", func() bool { return len(order) >= 20 })
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
