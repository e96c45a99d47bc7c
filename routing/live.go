package routing

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// SubscribeBuffer is how many live events a subscription holds for a slow
// reader before it starts dropping them.
const SubscribeBuffer = 4096

// Subscription delivers live events from every gateway.
type Subscription struct {
	// C receives events in the order Redis recorded them. It is closed when
	// the subscription's context ends.
	C       <-chan Event
	dropped atomic.Int64
}

// Dropped counts events not delivered because C was full. Pub/sub is
// at-most-once anyway: a reader that falls behind reads Events from the last
// ID it saw, and a lost offer simply lapses and is offered again.
func (s *Subscription) Dropped() int64 { return s.dropped.Load() }

// liveFeed is an engine's one Redis subscription to the live events, open
// while anyone subscribes. Several parts of a gateway follow routing (the
// supervisor's figures, the waiting customers' places); with a Redis
// subscription each, Redis sent every event once per part and each part
// decoded it again.
type liveFeed struct {
	mu  sync.Mutex
	run *liveRun // nil while nobody subscribes
}

// liveRun is one open Redis subscription and the subscriptions it feeds.
type liveRun struct {
	ps   *redis.PubSub
	subs map[*Subscription]chan Event
}

// Subscribe delivers every event of the workspace, from every gateway, as it
// happens, until ctx ends. A gateway subscribes once and hands offered events
// to the agents connected to it (match Event.AgentID). When Subscribe
// returns, the subscription is active: no later event is missed for lack of
// it. All subscriptions of an engine share one Redis subscription, and each
// event is decoded once for all of them; so a subscription joining one
// already open may also get a few events published just before it.
func (e *Engine) Subscribe(ctx context.Context) (*Subscription, error) {
	f := &e.live
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("routing: subscribe: %w", err)
	}
	if f.run == nil {
		// The subscription outlives the context of whoever opened it: it
		// closes when its last subscriber leaves.
		ps := e.c.Subscribe(context.WithoutCancel(ctx), e.k.live())
		if _, err := ps.Receive(ctx); err != nil {
			_ = ps.Close()
			return nil, fmt.Errorf("routing: subscribe: %w", err)
		}
		f.run = &liveRun{ps: ps, subs: map[*Subscription]chan Event{}}
		go e.fanOut(f, f.run)
	}
	r := f.run
	out := make(chan Event, SubscribeBuffer)
	sub := &Subscription{C: out}
	r.subs[sub] = out
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := r.subs[sub]; !ok {
			return
		}
		delete(r.subs, sub)
		close(out)
		if len(r.subs) == 0 && f.run == r {
			f.run = nil
			_ = r.ps.Close()
		}
	})
	return sub, nil
}

// fanOut decodes each event of r once and hands it to every subscription
// of r, until r's Redis subscription is closed: by its last subscriber
// leaving, or by go-redis (its client closed, a cluster node dropped). In
// the second case the subscriptions left are closed, as their callers
// expect of a subscription that ended, and the next Subscribe opens a new
// one instead of joining the dead one.
func (e *Engine) fanOut(f *liveFeed, r *liveRun) {
	defer func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.run == r {
			f.run = nil
		}
		for sub, out := range r.subs {
			delete(r.subs, sub)
			close(out)
		}
		_ = r.ps.Close()
	}()
	for m := range r.ps.Channel(redis.WithChannelSize(SubscribeBuffer)) {
		var fields map[string]string
		if err := json.Unmarshal([]byte(m.Payload), &fields); err != nil {
			e.log.Warn("routing: undecodable live event", "err", err)
			continue
		}
		ev := eventFrom(fields["id"], fields)
		f.mu.Lock()
		for sub, out := range r.subs {
			select {
			case out <- ev:
			default:
				sub.dropped.Add(1)
			}
		}
		f.mu.Unlock()
	}
}
