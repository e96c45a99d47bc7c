package routing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/store"
)

// ackedConv is one enqueue a gateway acknowledged, and when.
type ackedConv struct {
	id string
	at time.Time
}

// TestRoutingThroughSentinelFailovers runs two gateways configured through
// Sentinel (REDIS_URL with master_name), enqueuing without pause, through
// a SENTINEL FAILOVER and then a SIGKILL of the new master. Routing must
// go on after each, and every enqueue acknowledged before a failover
// began must be there at the end. Enqueues acknowledged by the old master
// after a failover began are lost when it rejoins as a replica: how many
// and for how long is logged (docs/benchmarks.md and deploy/README.md
// quote it), with Redis' default asynchronous replication and with
// min-replicas-to-write 1.
func TestRoutingThroughSentinelFailovers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc string
		opts redistest.SentinelOptions
		// lagBound: how long before a failover began an acknowledged
		// enqueue may have been lost. Asynchronous replication bounds it
		// by nothing but the replica's lag (milliseconds here, seconds on
		// an overloaded machine); min-replicas-max-lag 1 s bounds it.
		lagBound time.Duration
	}{
		{"one replica, asynchronous", redistest.SentinelOptions{}, 5 * time.Second},
		{"two replicas, min-replicas-to-write 1", redistest.SentinelOptions{Replicas: 2, MinReplicasToWrite: 1}, 2 * time.Second},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			failoverRun(t, tc.opts, tc.lagBound)
		})
	}
}

func failoverRun(t *testing.T, opts redistest.SentinelOptions, lagBound time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := redistest.StartSentinel(t, opts)
	ws := workspace(t)
	var gws []*Engine
	for range 2 {
		st, err := store.Open(store.Options{URL: s.URL()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		e, err := New(Params{Client: st.Client, Workspace: ws, SweepInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		gws = append(gws, e)
	}
	for _, id := range []string{"ana", "ben"} {
		if err := gws[0].UpsertAgent(ctx, AgentConfig{ID: id, Capacity: map[string]int{"chat": 100000}}); err != nil {
			t.Fatal(err)
		}
		if err := gws[0].SetAgentState(ctx, id, StateAvailable, ""); err != nil {
			t.Fatal(err)
		}
	}

	// Each gateway enqueues one conversation after another; a failed
	// enqueue is tried again with the same id until it is acknowledged,
	// as the conversation service's route retry does.
	var mu sync.Mutex
	var acked []ackedConv
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for gi, e := range gws {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("g%d-c%05d", gi, i)
				for {
					select {
					case <-stop:
						return
					default:
					}
					err := e.Enqueue(ctx, Request{ConversationID: id, Channel: "chat"})
					if err == nil || errors.Is(err, ErrExists) {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				mu.Lock()
				acked = append(acked, ackedConv{id, time.Now()})
				mu.Unlock()
				// About 1,000 enqueues/s in all: a busy contact centre,
				// not a saturated Redis.
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	ackedSince := func(at time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range acked {
			if a.at.After(at) {
				n++
			}
		}
		return n
	}
	// waitRouting waits until both gateways have had enqueues acknowledged
	// after at, and returns how long after at the first one came.
	waitRouting := func(what string, at time.Time) time.Duration {
		t.Helper()
		for ctx.Err() == nil {
			mu.Lock()
			var first time.Time
			seen := map[byte]bool{}
			for _, a := range acked {
				if a.at.After(at) {
					if first.IsZero() {
						first = a.at
					}
					seen[a.id[1]] = true
				}
			}
			mu.Unlock()
			if len(seen) == len(gws) {
				return first.Sub(at)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("routing did not resume after %s", what)
		return 0
	}
	time.Sleep(time.Second)

	var starts []time.Time
	var names []string

	// 1. SENTINEL FAILOVER: the replica is promoted at once.
	old, err := s.Master(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Failover(ctx); err != nil {
		t.Fatal(err)
	}
	promoted, err := s.WaitMasterNot(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	switched := time.Since(start)
	resumed := waitRouting("SENTINEL FAILOVER", time.Now())
	starts, names = append(starts, start), append(names, "SENTINEL FAILOVER")
	t.Logf("SENTINEL FAILOVER: sentinels named %s after %s; both gateways acknowledging there %s later",
		promoted, switched.Round(time.Millisecond), resumed.Round(time.Millisecond))
	time.Sleep(time.Second)

	// 2. SIGKILL of the master, once the old one has resynchronised as a
	// replica: the sentinels must see it down first.
	replicas := max(opts.Replicas, 1)
	if err := s.WaitInSync(ctx, replicas); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	s.Server(promoted).Kill()
	next, err := s.WaitMasterNot(ctx, promoted)
	if err != nil {
		t.Fatal(err)
	}
	switched = time.Since(start)
	resumed = waitRouting("SIGKILL of the master", time.Now())
	starts, names = append(starts, start), append(names, "SIGKILL of the master")
	t.Logf("SIGKILL of the master: sentinels named %s after %s; both gateways acknowledging there %s later",
		next, switched.Round(time.Millisecond), resumed.Round(time.Millisecond))
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if n := ackedSince(starts[1].Add(switched)); n == 0 {
		t.Fatal("nothing acknowledged after the second failover")
	}

	// Lost enqueues are charged to the latest failover that began before
	// them; none may predate the first.
	type loss struct {
		n           int
		first, last time.Duration // after the failover began
	}
	lost := make([]loss, len(starts))
	mu.Lock()
	all := append([]ackedConv(nil), acked...)
	mu.Unlock()
	for _, a := range all {
		// Present in any state is kept: offers lapse during the run.
		c, err := gws[0].Conversation(ctx, a.id)
		if err == nil {
			continue
		}
		w := -1
		for i, st := range starts {
			if !a.at.Before(st.Add(-lagBound)) {
				w = i
			}
		}
		if w < 0 {
			t.Errorf("%s acknowledged at %s, over %s before a failover, is %v (%v)", a.id, a.at.Format("15:04:05.000"), lagBound, c.State, err)
			continue
		}
		d := a.at.Sub(starts[w])
		l := &lost[w]
		if l.n == 0 || d < l.first {
			l.first = d
		}
		if d > l.last {
			l.last = d
		}
		l.n++
	}
	for i, l := range lost {
		if l.n == 0 {
			t.Logf("%s: no acknowledged enqueue lost", names[i])
			continue
		}
		t.Logf("%s: %d acknowledged enqueues lost, acknowledged from %s to %s after it began",
			names[i], l.n, l.first.Round(time.Millisecond), l.last.Round(time.Millisecond))
	}
	t.Logf("%d enqueues acknowledged in all", len(all))
}
