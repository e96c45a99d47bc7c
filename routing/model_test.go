package routing

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

// The model test runs several engines (as separate gateways would) and many
// goroutines doing enqueue, accept, decline, ignore, close, transfer,
// abandon and agent-state changes against one Redis, then checks the
// invariants twice: by folding the event stream (which records every state
// change in the order Redis applied it) and on the final Redis state.

type modelAgent struct {
	cfg AgentConfig
	gw  int // the gateway holding the agent's connection
}

var modelQueues = []QueueConfig{
	{Name: "q1", StickyWindowSeconds: -1, OfferTimeoutSeconds: map[string]int{"chat": 1, "sms": 1, "voice": 1, "email": 1}},
	{Name: "q2", StickyWindowSeconds: -1, WrapUpSeconds: 1, OfferTimeoutSeconds: map[string]int{"chat": 1, "sms": 1, "voice": 1, "email": 1}},
}

var modelChannels = []string{chChat, chSMS, chVoice}

func modelAgents() []modelAgent {
	var out []modelAgent
	for i := range 8 {
		a := AgentConfig{ID: fmt.Sprintf("ag%d", i), Capacity: map[string]int{"chat": 2, "sms": 2, "voice": 1}}
		switch i % 3 {
		case 0:
			a.Queues = []string{"q1"}
		case 1:
			a.Queues = []string{"q2"}
		}
		if i%2 == 0 {
			a.Skills = []string{"x"}
		}
		out = append(out, modelAgent{cfg: a, gw: i % 3})
	}
	return out
}

func TestModelRandomized(t *testing.T) {
	t.Parallel()
	runModel(t, shared, workspace(t), nil)
}

// runModel runs the model on workspace ws of backend b; during, when set,
// runs alongside the workload (a resharding, a failover) and its error
// fails the test.
func runModel(t *testing.T, b redistest.Backend, ws string, during func(ctx context.Context) error) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	const gateways = 3
	engines := make([]*Engine, gateways)
	for i := range engines {
		e, err := New(Params{Client: b.Connect(t), Workspace: ws, Queues: modelQueues,
			SweepInterval: 50 * time.Millisecond, EventsMaxLen: 10_000_000})
		if err != nil {
			t.Fatal(err)
		}
		engines[i] = e
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var bg sync.WaitGroup
	for _, e := range engines {
		bg.Go(func() { _ = e.Run(ctx) })
	}
	agents := modelAgents()
	inbox := map[string]chan Event{}
	for _, a := range agents {
		inbox[a.cfg.ID] = make(chan Event, 256)
		if err := engines[a.gw].UpsertAgent(ctx, a.cfg); err != nil {
			t.Fatal(err)
		}
	}
	// Each gateway delivers offers to the agents connected to it.
	for gi, e := range engines {
		sub, err := e.Subscribe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mine := map[string]chan Event{}
		for _, a := range agents {
			if a.gw == gi {
				mine[a.cfg.ID] = inbox[a.cfg.ID]
			}
		}
		bg.Go(func() {
			for ev := range sub.C {
				if ch, ok := mine[ev.AgentID]; ok && ev.Type == EventOffered {
					select {
					case ch <- ev:
					default: // the offer lapses and is requeued: part of the model
					}
				}
			}
		})
	}

	var errMu sync.Mutex
	var unexpected []error
	report := func(err error, allowed ...error) {
		if err == nil {
			return
		}
		for _, a := range allowed {
			if errors.Is(err, a) {
				return
			}
		}
		errMu.Lock()
		unexpected = append(unexpected, err)
		errMu.Unlock()
	}

	workCtx, stopWork := context.WithCancel(ctx)
	var work sync.WaitGroup
	for ai, a := range agents {
		work.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(ai)+100))
			e := engines[a.gw]
			id := a.cfg.ID
			report(e.SetAgentState(ctx, id, StateAvailable, ""))
			type held struct {
				conv string
				at   time.Time
			}
			var active []held
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-workCtx.Done():
					return
				case ev := <-inbox[id]:
					switch p := r.IntN(100); {
					case p < 65:
						err := e.Accept(ctx, ev.ConversationID, id)
						report(err, ErrNotOffered)
						if err == nil {
							active = append(active, held{ev.ConversationID, time.Now().Add(time.Duration(r.IntN(40)) * time.Millisecond)})
						}
					case p < 85:
						report(e.Decline(ctx, ev.ConversationID, id), ErrNotOffered)
					default: // ignore it: the offer lapses
					}
				case <-tick.C:
					now := time.Now()
					kept := active[:0]
					for _, h := range active {
						if now.Before(h.at) {
							kept = append(kept, h)
							continue
						}
						if r.IntN(10) == 0 {
							to := Target{Queue: "q1"}
							if r.IntN(2) == 0 {
								to = Target{Queue: "q2"}
							}
							report(e.Transfer(ctx, h.conv, to))
						} else {
							report(e.Close(ctx, h.conv, id))
						}
					}
					active = kept
					if r.IntN(100) == 0 {
						report(e.SetAgentState(ctx, id, StateAway, "break"))
						time.Sleep(time.Duration(r.IntN(50)) * time.Millisecond)
						report(e.SetAgentState(ctx, id, StateAvailable, ""))
					}
				}
			}
		})
	}
	var enq sync.WaitGroup
	var created sync.Map
	var duringErr error
	if during != nil {
		enq.Go(func() { duringErr = during(ctx) })
	}
	for w := range 3 {
		enq.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			var mine []string
			for i := range 60 {
				id := fmt.Sprintf("w%d-c%d", w, i)
				req := Request{ConversationID: id, Queue: []string{"q1", "q2"}[r.IntN(2)],
					Channel: modelChannels[r.IntN(len(modelChannels))], Priority: r.IntN(2)}
				if r.IntN(4) == 0 {
					req.Skills = []string{"x"}
				}
				report(engines[r.IntN(gateways)].Enqueue(ctx, req))
				created.Store(id, true)
				mine = append(mine, id)
				if r.IntN(10) == 0 {
					report(engines[r.IntN(gateways)].Abandon(ctx, mine[r.IntN(len(mine))], CauseCustomer), ErrWrongState)
				}
				time.Sleep(time.Duration(r.IntN(25)) * time.Millisecond)
			}
		})
	}
	enq.Wait()
	if duringErr != nil {
		t.Errorf("alongside the workload: %v", duringErr)
	}
	time.Sleep(1500 * time.Millisecond)
	stopWork()
	work.Wait()
	cancel()
	bg.Wait()
	for _, err := range unexpected {
		t.Errorf("unexpected error: %v", err)
	}

	var ids []string
	created.Range(func(k, _ any) bool { ids = append(ids, k.(string)); return true })
	events, err := engines[0].Events(context.Background(), "", 10_000_000)
	if err != nil {
		t.Fatal(err)
	}
	caps := map[string]map[string]int{}
	skills := map[string][]string{}
	for _, a := range agents {
		caps[a.cfg.ID] = a.cfg.Capacity
		skills[a.cfg.ID] = a.cfg.Skills
	}
	stats := foldCheck(t, events, caps, skills)
	t.Logf("%d conversations, %d events: %v", len(ids), len(events), stats)
	checkRedisState(t, b.Connect(t), newKeys(ws), ids, caps)
}

type waitingConv struct {
	queue, channel string
	score          float64
	skills         []string
	declAgent      string
	declUntil      time.Time
}

// foldCheck replays the event stream and checks, at every step: a
// conversation is offered or assigned to one agent at a time, no agent is
// over capacity or offered another channel while on a call, and within a
// queue and channel nobody is offered a conversation while an older one of
// equal or higher priority waits that the agent could take (FIFO).
func foldCheck(t *testing.T, events []Event, caps map[string]map[string]int, agentSkills map[string][]string) map[EventType]int {
	t.Helper()
	holder := map[string]string{}
	channel := map[string]string{}
	prio := map[string]int{}
	load := map[string]map[string]int{}
	waiting := map[string]*waitingConv{}
	counts := map[EventType]int{}
	fail := func(e Event, f string, args ...any) {
		t.Helper()
		t.Errorf("event %s %s conv=%s agent=%s: %s", e.ID, e.Type, e.ConversationID, e.AgentID, fmt.Sprintf(f, args...))
	}
	free := func(conv, agent string) {
		if agent == "" {
			return
		}
		if load[agent] == nil {
			load[agent] = map[string]int{}
		}
		load[agent][channel[conv]]--
	}
	for _, e := range events {
		counts[e.Type]++
		c := e.ConversationID
		switch e.Type {
		case EventEnqueued:
			channel[c], prio[c] = e.Channel, e.Priority
			waiting[c] = &waitingConv{queue: e.Queue, channel: e.Channel, score: modelScore(e.Priority, e.EnqueuedAt), skills: e.Skills}
		case EventOffered:
			a := e.AgentID
			if holder[c] != "" {
				fail(e, "already held by %s", holder[c])
			}
			me := waiting[c]
			if me == nil {
				fail(e, "offered while not waiting")
			} else if e.Reason == "" {
				for id, w := range waiting {
					if id == c || w.queue != me.queue || w.channel != me.channel || w.score >= me.score {
						continue
					}
					if !hasAll(agentSkills[a], w.skills) || (w.declAgent == a && e.At.Before(w.declUntil)) {
						continue
					}
					fail(e, "FIFO: %s waits longer (or is more urgent) and %s could take it", id, a)
				}
			}
			delete(waiting, c)
			holder[c] = a
			if load[a] == nil {
				load[a] = map[string]int{}
			}
			load[a][e.Channel]++
			if load[a][e.Channel] > caps[a][e.Channel] {
				fail(e, "over capacity on %s: %d > %d", e.Channel, load[a][e.Channel], caps[a][e.Channel])
			}
			if e.Channel != chVoice && load[a][chVoice] > 0 {
				fail(e, "offered %s while on a call", e.Channel)
			}
		case EventAccepted:
			if holder[c] != e.AgentID {
				fail(e, "accepted but held by %q", holder[c])
			}
		case EventDeclined, EventExpired:
			if holder[c] != e.AgentID {
				fail(e, "requeued but held by %q", holder[c])
			}
			free(c, e.AgentID)
			holder[c] = ""
			w := &waitingConv{queue: e.Queue, channel: e.Channel, declAgent: e.AgentID, declUntil: e.Until}
			if old := lastWaiting[c]; old != nil {
				w.score, w.skills = old.score, old.skills
			}
			waiting[c] = w
		case EventClosed:
			if holder[c] != e.AgentID {
				fail(e, "closed but held by %q", holder[c])
			}
			if e.Reason != "wrapup" {
				free(c, e.AgentID)
				holder[c] = ""
			}
		case EventWrapUpDone:
			free(c, e.AgentID)
			holder[c] = ""
		case EventAbandoned:
			free(c, e.AgentID)
			holder[c] = ""
			delete(waiting, c)
		case EventTransferred:
			free(c, e.FromAgent)
			holder[c] = ""
			old := lastWaiting[c]
			w := &waitingConv{queue: e.Queue, channel: e.Channel, score: modelScore(e.Priority, e.EnqueuedAt)}
			if old != nil {
				w.skills = old.skills
			}
			waiting[c] = w
		}
		if w := waiting[c]; w != nil {
			lastWaiting[c] = w
		}
	}
	clear(lastWaiting)
	return counts
}

// lastWaiting remembers a conversation's place across offers (the fold runs
// in one goroutine per test; the model test is the only caller).
var lastWaiting = map[string]*waitingConv{}

func modelScore(prio int, enq time.Time) float64 {
	prio = min(max(prio, 0), 99)
	return float64(99-prio)*1e13 + float64(enq.UnixMilli())
}

func hasAll(have, need []string) bool {
	for _, n := range need {
		if !slices.Contains(have, n) {
			return false
		}
	}
	return true
}

// checkRedisState checks the final state: every conversation is in exactly
// one state and exactly the sets that state implies, and every agent's load
// is what it holds and within capacity.
func checkRedisState(t *testing.T, rc redis.UniversalClient, k keys, ids []string, caps map[string]map[string]int) {
	t.Helper()
	ctx := context.Background()
	held := map[string]string{}
	loads := map[string]map[string]int{}
	for a := range caps {
		convs, err := rc.SMembers(ctx, k.agentConvs(a)).Result()
		if err != nil {
			t.Fatal(err)
		}
		loads[a] = map[string]int{}
		for _, c := range convs {
			if prev, dup := held[c]; dup {
				t.Errorf("%s held by %s and %s", c, prev, a)
			}
			held[c] = a
			loads[a][rc.HGet(ctx, k.conv(c), "channel").Val()]++
		}
		h := rc.HGetAll(ctx, k.agent(a)).Val()
		for _, ch := range channels {
			if got := atoi(h["load:"+ch]); got != loads[a][ch] || got > caps[a][ch] {
				t.Errorf("agent %s %s load %d; holds %d, capacity %d", a, ch, got, loads[a][ch], caps[a][ch])
			}
		}
	}
	inQueue := map[string]int{}
	for _, q := range modelQueues {
		for _, ch := range channels {
			for _, c := range rc.ZRange(ctx, k.queue(q.Name, ch), 0, -1).Val() {
				inQueue[c]++
			}
		}
	}
	states := map[string]int{}
	for _, id := range ids {
		h := rc.HGetAll(ctx, k.conv(id)).Val()
		st := ConvState(h["state"])
		states[string(st)]++
		_, offerErr := rc.ZScore(ctx, k.offers(), id).Result()
		inOffers := offerErr == nil
		var problems []string
		switch st {
		case ConvWaiting:
			if inQueue[id] != 1 || held[id] != "" || inOffers {
				problems = append(problems, "waiting but not in exactly its queue")
			}
		case ConvOffered:
			if !inOffers || held[id] != h["agent"] || inQueue[id] != 0 {
				problems = append(problems, "offered but not in the offers set and its agent's")
			}
		case ConvActive, ConvWrapUp:
			if inOffers || held[id] != h["agent"] || h["agent"] == "" || inQueue[id] != 0 {
				problems = append(problems, "assigned but not held by its agent alone")
			}
		case ConvClosed, ConvAbandoned:
			if inOffers || held[id] != "" || inQueue[id] != 0 {
				problems = append(problems, "finished but still routed")
			}
		default:
			problems = append(problems, "lost: no state")
		}
		if len(problems) > 0 {
			t.Errorf("%s (%s, agent %q): %s", id, st, h["agent"], strings.Join(problems, "; "))
		}
	}
	t.Logf("final states: %v", states)
}
