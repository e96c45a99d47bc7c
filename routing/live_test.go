package routing

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

// TestSubscriptionsShareOneRedisSubscription: the parts of a gateway that
// follow routing share one Redis subscription, each still gets every
// event, one leaving does not stop the others, and the subscription closes
// with the last of them (the next one opens it again).
func TestSubscriptionsShareOneRedisSubscription(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	gw := gateway(t, ws)
	rdb := shared.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	subscribers := func() int64 {
		t.Helper()
		n, err := numSub(ctx, rdb, gw.k.live())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(want int64) {
		t.Helper()
		for n := subscribers(); n != want; n = subscribers() {
			if ctx.Err() != nil {
				t.Fatalf("%d Redis subscribers, want %d", n, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	received := func(sub *Subscription, agent string) {
		t.Helper()
		for {
			select {
			case e, ok := <-sub.C:
				if !ok {
					t.Fatalf("subscription closed before agent %s's event", agent)
				}
				if e.Type == EventAgentState && e.AgentID == agent {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no event for agent %s", agent)
			}
		}
	}
	change := func(agent string) {
		t.Helper()
		if err := gw.UpsertAgent(ctx, AgentConfig{ID: agent}); err != nil {
			t.Fatal(err)
		}
		if err := gw.SetAgentState(ctx, agent, StateAvailable, ""); err != nil {
			t.Fatal(err)
		}
	}

	ctx1, leave1 := context.WithCancel(ctx)
	ctx2, leave2 := context.WithCancel(ctx)
	sub1, err := gw.Subscribe(ctx1)
	if err != nil {
		t.Fatal(err)
	}
	sub2, err := gw.Subscribe(ctx2)
	if err != nil {
		t.Fatal(err)
	}
	if n := subscribers(); n != 1 {
		t.Fatalf("two subscriptions made %d Redis subscriptions, want 1", n)
	}
	change("a")
	received(sub1, "a")
	received(sub2, "a")

	leave1()
	for range sub1.C { // closed when its context ends
	}
	change("b")
	received(sub2, "b")
	if n := subscribers(); n != 1 {
		t.Fatalf("after one left: %d Redis subscriptions, want 1", n)
	}

	leave2()
	for range sub2.C {
	}
	waitFor(0)

	sub3, err := gw.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(1)
	change("c")
	received(sub3, "c")
}

// When Redis ends the shared subscription itself (here: its client is
// closed), every subscription on it closes, as a subscription that ended
// does, and the next Subscribe does not join the dead one.
func TestSubscriptionsCloseWhenTheRedisSubscriptionEnds(t *testing.T) {
	t.Parallel()
	c := shared.Connect(t)
	gw, err := New(Params{Client: c, Workspace: workspace(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := gw.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case _, ok := <-sub.C:
			if ok {
				continue
			}
		case <-ctx.Done():
			t.Fatal("the subscription stayed open after its Redis subscription ended")
		}
		break
	}
	if _, err := gw.Subscribe(ctx); err == nil {
		t.Error("Subscribe on a closed client joined the dead subscription instead of failing")
	}
}

// numSub is how many clients subscribe to ch, on every primary.
func numSub(ctx context.Context, rdb redis.UniversalClient, ch string) (int64, error) {
	var mu sync.Mutex
	var total int64
	err := redistest.EachPrimary(ctx, rdb, func(ctx context.Context, node *redis.Client) error {
		n, err := node.PubSubNumSub(ctx, ch).Result()
		mu.Lock()
		total += n[ch]
		mu.Unlock()
		return err
	})
	return total, err
}
