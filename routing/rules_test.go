package routing

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestQueueConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc  string
		q     QueueConfig
		field string // "" means valid
	}{
		{desc: "default queue is valid", q: DefaultQueues()[0]},
		{desc: "name required", q: QueueConfig{}, field: "queue name"},
		{desc: "name without separators", q: QueueConfig{Name: "a:b"}, field: "queue name"},
		{desc: "unknown channel", q: QueueConfig{Name: "q", Channels: []string{"fax"}}, field: "channels"},
		{desc: "unknown auto-accept channel", q: QueueConfig{Name: "q", AutoAccept: []string{"fax"}}, field: "auto_accept"},
		{desc: "negative timeout", q: QueueConfig{Name: "q", OfferTimeoutSeconds: map[string]int{"chat": -1}}, field: "offer_timeout_seconds"},
		{desc: "bad skill", q: QueueConfig{Name: "q", Skills: []string{"a,b"}}, field: "skills"},
		{desc: "negative wrap-up", q: QueueConfig{Name: "q", WrapUpSeconds: -5}, field: "wrap_up_seconds"},
		{desc: "overflow into itself", q: QueueConfig{Name: "q", OverflowQueue: "q"}, field: "overflow_queue"},
		{desc: "full config", q: QueueConfig{Name: "sales", Channels: []string{"chat", "voice"}, Skills: []string{"es"},
			OfferTimeoutSeconds: map[string]int{"voice": 15}, AutoAccept: []string{"email"}, WrapUpSeconds: 30,
			OverflowQueue: "support", OverflowAfterSeconds: 120, StickyWindowSeconds: -1}},
	}
	for _, c := range cases {
		err := c.q.Validate()
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.desc, err)
		case c.field != "" && (err == nil || !strings.Contains(err.Error(), c.field)):
			t.Errorf("%s: error %v does not name %q", c.desc, err, c.field)
		}
	}
	d := DefaultQueues()
	if len(d) != 1 || d[0].Name != "support" || len(d[0].Channels) != 0 {
		t.Errorf("DefaultQueues() = %+v; want one support queue for every channel", d)
	}
	q := QueueConfig{Name: "q"}
	if q.OfferTimeout(chVoice) != 20*time.Second || q.OfferTimeout(chChat) != 30*time.Second ||
		q.StickyWindow() != 24*time.Hour || q.OverflowAfter() != time.Minute || q.ServiceLevel() != 20*time.Second {
		t.Errorf("zero-value defaults wrong")
	}
}

// serveAll has agent accept and close every offer in turn (capacity 1) and
// returns the order conversations were offered in.
func serveAll(v *env, agent string, n int) []string {
	v.t.Helper()
	var order []string
	for range n {
		a := v.agentStatus(agent)
		if len(a.Conversations) != 1 {
			v.t.Fatalf("agent %s holds %v; want one offer", agent, a.Conversations)
		}
		id := a.Conversations[0]
		order = append(order, id)
		v.must(v.e.Accept(v.ctx, id, agent))
		v.must(v.e.Close(v.ctx, id, agent))
	}
	return order
}

func TestOrderPriorityThenLongestWaiting(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc string
		reqs []Request // enqueued one second apart, in this order
		want []string
	}{
		{desc: "first come first served", reqs: []Request{{ConversationID: "c1"}, {ConversationID: "c2"}, {ConversationID: "c3"}},
			want: []string{"c1", "c2", "c3"}},
		{desc: "priority first", reqs: []Request{{ConversationID: "c1"}, {ConversationID: "c2", Priority: 3}, {ConversationID: "c3", Priority: 1}},
			want: []string{"c2", "c3", "c1"}},
		{desc: "returning and VIP boosts", reqs: []Request{{ConversationID: "c1"}, {ConversationID: "c2", Returning: true},
			{ConversationID: "c3", VIP: true}, {ConversationID: "c4", Priority: 5}},
			want: []string{"c3", "c4", "c2", "c1"}},
		{desc: "enqueue time, not arrival, orders", reqs: []Request{{ConversationID: "c1"},
			{ConversationID: "c2", EnqueuedAt: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)}},
			want: []string{"c2", "c1"}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, nil)
			v.must(v.e.UpsertAgent(v.ctx, AgentConfig{ID: "a", Capacity: map[string]int{"chat": 1}}))
			for _, r := range c.reqs {
				v.enqueue(r)
				v.clock.Add(time.Second)
			}
			v.must(v.e.SetAgentState(v.ctx, "a", StateAvailable, ""))
			if got := serveAll(v, "a", len(c.want)); !slices.Equal(got, c.want) {
				t.Fatalf("served %v; want %v", got, c.want)
			}
		})
	}
}

func TestAgentChoice(t *testing.T) {
	t.Parallel()
	now := newFakeClock().Now()
	queues := []QueueConfig{{Name: "support", StickyWindowSeconds: 3600}, {Name: "billing", Skills: []string{"billing"}}}
	cases := []struct {
		desc   string
		agents []AgentConfig // made available one second apart: the first is the longest idle
		pre    func(v *env)
		req    Request
		want   string
	}{
		{desc: "longest idle agent", agents: []AgentConfig{{ID: "a1"}, {ID: "a2"}},
			req: Request{ConversationID: "c"}, want: "a1"},
		{desc: "an offer makes the agent the most recently busy", agents: []AgentConfig{{ID: "a1"}, {ID: "a2"}},
			pre: func(v *env) { v.enqueue(Request{ConversationID: "c0"}) }, req: Request{ConversationID: "c"}, want: "a2"},
		{desc: "required skill", agents: []AgentConfig{{ID: "a1"}, {ID: "a2", Skills: []string{"spanish"}}},
			req: Request{ConversationID: "c", Skills: []string{"spanish"}}, want: "a2"},
		{desc: "queue skill", agents: []AgentConfig{{ID: "a1"}, {ID: "a2", Skills: []string{"billing"}}},
			req: Request{ConversationID: "c", Queue: "billing"}, want: "a2"},
		{desc: "no capacity on the channel", agents: []AgentConfig{{ID: "a1", Capacity: map[string]int{"sms": 0}}, {ID: "a2"}},
			req: Request{ConversationID: "c", Channel: chSMS}, want: "a2"},
		{desc: "agent not serving the queue", agents: []AgentConfig{{ID: "a1", Queues: []string{"support"}}, {ID: "a2", Skills: []string{"billing"}}},
			req: Request{ConversationID: "c", Queue: "billing"}, want: "a2"},
		{desc: "voice is exclusive", agents: []AgentConfig{{ID: "a1"}, {ID: "a2"}},
			pre: func(v *env) { v.enqueue(Request{ConversationID: "call", Channel: chVoice}) }, // to a1
			req: Request{ConversationID: "c"}, want: "a2"},
		{desc: "voice shared when configured", agents: []AgentConfig{{ID: "a1", VoiceShared: true}, {ID: "a2"}},
			pre: func(v *env) { v.enqueue(Request{ConversationID: "call", Channel: chVoice}) }, // to a1
			req: Request{ConversationID: "c"}, want: "a1"},
		{desc: "idle time is per channel", agents: []AgentConfig{{ID: "a1"}, {ID: "a2"}},
			pre: func(v *env) { v.enqueue(Request{ConversationID: "mail", Channel: chEmail}) }, // to a1
			req: Request{ConversationID: "c"}, want: "a1"},
		{desc: "sticky: last agent within the window", agents: []AgentConfig{{ID: "a1"}, {ID: "a2"}},
			req: Request{ConversationID: "c", LastAgentID: "a2", LastServedAt: now.Add(-30 * time.Minute)}, want: "a2"},
		{desc: "sticky: window passed", agents: []AgentConfig{{ID: "a1"}, {ID: "a2"}},
			req: Request{ConversationID: "c", LastAgentID: "a2", LastServedAt: now.Add(-2 * time.Hour)}, want: "a1"},
		{desc: "sticky: last agent away", agents: []AgentConfig{{ID: "a1"}, {ID: "a2"}},
			pre: func(v *env) { v.must(v.e.SetAgentState(v.ctx, "a2", StateAway, "lunch")) },
			req: Request{ConversationID: "c", LastAgentID: "a2", LastServedAt: now}, want: "a1"},
		{desc: "nobody able: waits", agents: []AgentConfig{{ID: "a1"}},
			req: Request{ConversationID: "c", Skills: []string{"french"}}, want: ""},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, queues)
			for _, a := range c.agents {
				v.agent(a)
				v.clock.Add(time.Second)
			}
			if c.pre != nil {
				c.pre(v)
			}
			v.enqueue(c.req)
			st := ConvOffered
			if c.want == "" {
				st = ConvWaiting
			}
			v.expect(c.req.ConversationID, st, c.want)
		})
	}
}

func TestCapacityPerChannel(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc    string
		channel string
		want    int
	}{
		{desc: "voice 1", channel: chVoice, want: 1},
		{desc: "chat 3", channel: chChat, want: 3},
		{desc: "sms 5", channel: chSMS, want: 5},
		{desc: "email 5", channel: chEmail, want: 5},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, nil)
			v.agent(AgentConfig{ID: "a"})
			for i := range c.want + 2 {
				v.enqueue(Request{ConversationID: "c" + string(rune('a'+i)), Channel: c.channel})
			}
			a := v.agentStatus("a")
			// Busy means no free capacity on any channel: only a call does that.
			if a.Load[c.channel] != c.want || len(a.Conversations) != c.want || a.Busy != (c.channel == chVoice) {
				t.Fatalf("load %v convs %v busy %v; want %d", a.Load, a.Conversations, a.Busy, c.want)
			}
			w, err := v.e.Waiting(v.ctx, "support")
			v.must(err)
			if len(w) != 2 {
				t.Fatalf("%d waiting; want 2", len(w))
			}
		})
	}
}

func TestOffers(t *testing.T) {
	t.Parallel()
	queues := []QueueConfig{{Name: "support", OfferTimeoutSeconds: map[string]int{"chat": 10}, AutoAccept: []string{"email"}}}
	cases := []struct {
		desc string
		run  func(v *env)
	}{
		{desc: "accept by another agent is refused", run: func(v *env) {
			v.enqueue(Request{ConversationID: "c"})
			if err := v.e.Accept(v.ctx, "c", "a2"); !errors.Is(err, ErrNotOffered) {
				v.t.Fatalf("got %v; want ErrNotOffered", err)
			}
			v.must(v.e.Accept(v.ctx, "c", "a1"))
			v.expect("c", ConvActive, "a1")
		}},
		{desc: "accept after the deadline is refused and recovery requeues", run: func(v *env) {
			v.must(v.e.SetAgentState(v.ctx, "a2", StateAway, ""))
			v.enqueue(Request{ConversationID: "c"})
			v.clock.Add(11 * time.Second)
			if err := v.e.Accept(v.ctx, "c", "a1"); !errors.Is(err, ErrNotOffered) {
				v.t.Fatalf("got %v; want ErrNotOffered", err)
			}
			v.must(v.e.Sweep(v.ctx))
			v.expect("c", ConvWaiting, "") // a1 is not offered it again before the cooldown
			v.clock.Add(11 * time.Second)
			v.must(v.e.Sweep(v.ctx))
			v.expect("c", ConvOffered, "a1")
		}},
		{desc: "decline goes to the next agent", run: func(v *env) {
			v.enqueue(Request{ConversationID: "c"})
			v.must(v.e.Decline(v.ctx, "c", "a1"))
			v.expect("c", ConvOffered, "a2")
		}},
		{desc: "declined conversation keeps its place", run: func(v *env) {
			v.must(v.e.SetAgentState(v.ctx, "a2", StateAway, ""))
			v.must(v.e.UpsertAgent(v.ctx, AgentConfig{ID: "a1", Capacity: map[string]int{"chat": 1}}))
			v.enqueue(Request{ConversationID: "first"})
			v.clock.Add(time.Second)
			v.enqueue(Request{ConversationID: "second"})
			v.must(v.e.Decline(v.ctx, "first", "a1"))
			v.expect("second", ConvOffered, "a1")
			w, err := v.e.Waiting(v.ctx, "support")
			v.must(err)
			if len(w) != 1 || w[0].ID != "first" {
				v.t.Fatalf("waiting %v; want first back in line", w)
			}
			v.must(v.e.SetAgentState(v.ctx, "a2", StateAvailable, ""))
			v.expect("first", ConvOffered, "a2")
		}},
		{desc: "expiry puts it back at its place, before later ones", run: func(v *env) {
			v.must(v.e.SetAgentState(v.ctx, "a2", StateAway, ""))
			v.must(v.e.UpsertAgent(v.ctx, AgentConfig{ID: "a1", Capacity: map[string]int{"chat": 1}}))
			v.enqueue(Request{ConversationID: "first"})
			v.clock.Add(time.Second)
			v.enqueue(Request{ConversationID: "second"})
			v.clock.Add(10 * time.Second)
			v.must(v.e.Sweep(v.ctx))
			// a1 missed it: a1 gets "second", and "first" waits ahead of anyone later.
			v.expect("second", ConvOffered, "a1")
			v.expect("first", ConvWaiting, "")
			v.must(v.e.SetAgentState(v.ctx, "a2", StateAvailable, ""))
			v.expect("first", ConvOffered, "a2")
		}},
		{desc: "consecutive missed offers set the agent away", run: func(v *env) {
			v.must(v.e.SetAgentState(v.ctx, "a2", StateAway, ""))
			for i := range 3 {
				v.enqueue(Request{ConversationID: "c" + string(rune('0'+i))})
				v.clock.Add(31 * time.Second)
				v.must(v.e.Sweep(v.ctx))
			}
			a := v.agentStatus("a1")
			if a.State != StateAway || a.Reason != "missed offers" {
				v.t.Fatalf("agent %s (%s); want away for missed offers", a.State, a.Reason)
			}
			n := 0
			for _, e := range v.events() {
				if e.Type == EventAgentAwayMissedOffers && e.AgentID == "a1" {
					n++
				}
			}
			if n != 1 {
				v.t.Fatalf("%d missed-offers events; want 1", n)
			}
		}},
		{desc: "auto-accept channel", run: func(v *env) {
			v.enqueue(Request{ConversationID: "mail", Channel: chEmail})
			v.expect("mail", ConvActive, "a1")
		}},
		{desc: "accept resets the missed count", run: func(v *env) {
			v.must(v.e.SetAgentState(v.ctx, "a2", StateAway, ""))
			v.enqueue(Request{ConversationID: "c1"})
			v.clock.Add(11 * time.Second)
			v.must(v.e.Sweep(v.ctx))
			v.enqueue(Request{ConversationID: "c2"})
			v.must(v.e.Accept(v.ctx, "c2", "a1"))
			if a := v.agentStatus("a1"); a.Missed != 0 {
				v.t.Fatalf("missed %d after accept", a.Missed)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, queues)
			v.agent(AgentConfig{ID: "a1"})
			v.clock.Add(time.Second)
			v.agent(AgentConfig{ID: "a2"})
			v.clock.Add(time.Second)
			c.run(v)
		})
	}
}

func TestCloseAndWrapUp(t *testing.T) {
	t.Parallel()
	queues := []QueueConfig{{Name: "support", WrapUpSeconds: 20}, {Name: "quick"}}
	cases := []struct {
		desc string
		run  func(v *env)
	}{
		{desc: "close without wrap-up frees the slot and rematches", run: func(v *env) {
			v.enqueue(Request{ConversationID: "c1", Queue: "quick", Channel: chVoice})
			v.enqueue(Request{ConversationID: "c2", Queue: "quick", Channel: chVoice})
			v.expect("c2", ConvWaiting, "")
			v.must(v.e.Accept(v.ctx, "c1", "a"))
			v.must(v.e.Close(v.ctx, "c1", "a"))
			v.expect("c1", ConvClosed, "")
			v.expect("c2", ConvOffered, "a")
		}},
		{desc: "close by the wrong agent is refused", run: func(v *env) {
			v.enqueue(Request{ConversationID: "c1"})
			if err := v.e.Close(v.ctx, "c1", "a"); !errors.Is(err, ErrNotAssigned) {
				v.t.Fatalf("closing an unaccepted offer: %v; want ErrNotAssigned", err)
			}
			v.must(v.e.Accept(v.ctx, "c1", "a"))
			if err := v.e.Close(v.ctx, "c1", "b"); !errors.Is(err, ErrNotAssigned) {
				v.t.Fatalf("got %v; want ErrNotAssigned", err)
			}
		}},
		{desc: "wrap-up holds the slot and blocks calls", run: func(v *env) {
			v.enqueue(Request{ConversationID: "chat1"})
			v.must(v.e.Accept(v.ctx, "chat1", "a"))
			v.must(v.e.Close(v.ctx, "chat1", "a"))
			v.expect("chat1", ConvWrapUp, "a")
			v.enqueue(Request{ConversationID: "call", Channel: chVoice})
			v.expect("call", ConvWaiting, "")
			v.enqueue(Request{ConversationID: "chat2"}) // chat is not blocked
			v.expect("chat2", ConvOffered, "a")
			v.clock.Add(21 * time.Second)
			v.must(v.e.Sweep(v.ctx))
			v.expect("chat1", ConvClosed, "")
			v.expect("call", ConvOffered, "a")
			if a := v.agentStatus("a"); a.Load[chChat] != 1 {
				v.t.Fatalf("chat load %d after wrap-up; want 1", a.Load[chChat])
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, queues)
			v.agent(AgentConfig{ID: "a"})
			v.clock.Add(time.Second)
			c.run(v)
			if got := v.eventTypes("c1"); len(got) > 0 && got[0] != "enqueued" {
				t.Errorf("events %v", got)
			}
		})
	}
}

func TestTransfer(t *testing.T) {
	t.Parallel()
	queues := []QueueConfig{{Name: "support"}, {Name: "billing"}}
	cases := []struct {
		desc string
		run  func(v *env)
	}{
		{desc: "to a queue keeps the original enqueue time", run: func(v *env) {
			v.enqueue(Request{ConversationID: "old", Queue: "support"})
			v.clock.Add(time.Minute)
			v.enqueue(Request{ConversationID: "new", Queue: "billing"})
			v.must(v.e.Transfer(v.ctx, "old", Target{Queue: "billing"}))
			w, err := v.e.Waiting(v.ctx, "billing")
			v.must(err)
			if len(w) != 2 || w[0].ID != "old" {
				v.t.Fatalf("billing queue %v; want old first", w)
			}
		}},
		{desc: "an active conversation to a queue frees the agent", run: func(v *env) {
			v.agent(AgentConfig{ID: "s", Queues: []string{"support"}})
			v.enqueue(Request{ConversationID: "c", Queue: "support"})
			v.must(v.e.Accept(v.ctx, "c", "s"))
			v.must(v.e.Transfer(v.ctx, "c", Target{Queue: "billing"}))
			v.expect("c", ConvWaiting, "")
			if a := v.agentStatus("s"); a.Load[chChat] != 0 {
				v.t.Fatalf("agent load %v", a.Load)
			}
			v.agent(AgentConfig{ID: "b", Queues: []string{"billing"}})
			v.expect("c", ConvOffered, "b")
		}},
		{desc: "to a named agent", run: func(v *env) {
			v.agent(AgentConfig{ID: "s"})
			v.clock.Add(time.Second)
			v.agent(AgentConfig{ID: "expert"})
			v.enqueue(Request{ConversationID: "c"})
			v.must(v.e.Accept(v.ctx, "c", "s"))
			v.must(v.e.Transfer(v.ctx, "c", Target{AgentID: "expert"}))
			v.expect("c", ConvOffered, "expert")
		}},
		{desc: "to an agent who cannot take it", run: func(v *env) {
			v.must(v.e.UpsertAgent(v.ctx, AgentConfig{ID: "off"}))
			v.enqueue(Request{ConversationID: "c"})
			if err := v.e.Transfer(v.ctx, "c", Target{AgentID: "off"}); !errors.Is(err, ErrAgentUnavailable) {
				v.t.Fatalf("got %v; want ErrAgentUnavailable", err)
			}
			v.expect("c", ConvWaiting, "")
		}},
		{desc: "to an unknown queue", run: func(v *env) {
			v.enqueue(Request{ConversationID: "c"})
			if err := v.e.Transfer(v.ctx, "c", Target{Queue: "nope"}); !errors.Is(err, ErrUnknownQueue) {
				v.t.Fatalf("got %v; want ErrUnknownQueue", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			c.run(newEnv(t, queues))
		})
	}
}

func TestOverflow(t *testing.T) {
	t.Parallel()
	v := newEnv(t, []QueueConfig{{Name: "sales", OverflowQueue: "support", OverflowAfterSeconds: 60}, {Name: "support"}})
	v.agent(AgentConfig{ID: "s", Queues: []string{"support"}})
	v.enqueue(Request{ConversationID: "c", Queue: "sales"})
	v.clock.Add(59 * time.Second)
	v.must(v.e.Sweep(v.ctx))
	v.expect("c", ConvWaiting, "")
	v.clock.Add(2 * time.Second)
	v.must(v.e.Sweep(v.ctx))
	v.expect("c", ConvOffered, "s")
	if c := v.conv("c"); c.OverflowQueue != "support" || c.Queue != "sales" {
		t.Fatalf("conv %+v; want queue sales overflowed to support", c)
	}
}

func TestPresence(t *testing.T) {
	t.Parallel()
	v := newEnv(t, nil, func(p *Params) { p.PresenceGrace = 30 * time.Second })
	v.agent(AgentConfig{ID: "a1"})
	v.enqueue(Request{ConversationID: "c"})
	v.expect("c", ConvOffered, "a1")
	// Heartbeats within the grace period keep the agent, even with gaps.
	for range 3 {
		v.clock.Add(20 * time.Second)
		v.must(v.e.Heartbeat(v.ctx, "a1"))
		v.must(v.e.Decline(v.ctx, "c", "a1")) // keep the offer from lapsing
		v.clock.Add(31 * time.Second)         // past the decline cooldown
		v.must(v.e.Heartbeat(v.ctx, "a1"))
		v.must(v.e.Sweep(v.ctx))
		v.expect("c", ConvOffered, "a1")
	}
	v.agent(AgentConfig{ID: "a2"})
	v.clock.Add(25 * time.Second)
	v.must(v.e.Heartbeat(v.ctx, "a2"))
	v.clock.Add(6 * time.Second)
	v.must(v.e.Sweep(v.ctx))
	if a := v.agentStatus("a1"); a.State != StateOffline || a.Reason != "heartbeat lost" {
		t.Fatalf("a1 %s (%s); want offline, heartbeat lost", a.State, a.Reason)
	}
	v.expect("c", ConvOffered, "a2")
	v.must(v.e.Heartbeat(v.ctx, "a1"))
	if a := v.agentStatus("a1"); a.State != StateAvailable {
		t.Fatalf("a1 %s after heartbeat; want available again", a.State)
	}
	if err := v.e.Heartbeat(v.ctx, "ghost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("heartbeat of unknown agent: %v", err)
	}
}

func TestAbandon(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc    string
		offered bool
		cause   AbandonCause
	}{
		{desc: "while waiting", cause: CauseCustomer},
		{desc: "while offered frees the agent", offered: true, cause: CauseCustomer},
		{desc: "closed by staff while waiting", cause: CauseClosed},
		{desc: "closed by staff while offered frees the agent", offered: true, cause: CauseClosed},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			v := newEnv(t, nil)
			if c.offered {
				v.agent(AgentConfig{ID: "a", Capacity: map[string]int{"chat": 1}})
			}
			v.enqueue(Request{ConversationID: "c"})
			v.enqueue(Request{ConversationID: "next"})
			v.must(v.e.Abandon(v.ctx, "c", c.cause))
			v.expect("c", ConvAbandoned, "")
			// Statistics and webhooks read who ended it from the event.
			var ab []Event
			for _, e := range v.events() {
				if e.Type == EventAbandoned {
					ab = append(ab, e)
				}
			}
			wantReason := "waiting"
			if c.offered {
				wantReason = "offered"
			}
			if len(ab) != 1 || ab[0].ConversationID != "c" || ab[0].Cause != c.cause || ab[0].Reason != wantReason {
				t.Fatalf("abandoned events %+v; want one of c with cause %q, reason %q", ab, c.cause, wantReason)
			}
			if c.offered {
				v.expect("next", ConvOffered, "a")
			}
			w, err := v.e.Waiting(v.ctx, "support")
			v.must(err)
			for _, x := range w {
				if x.ID == "c" {
					t.Fatal("abandoned conversation still waiting")
				}
			}
			if got := v.eventTypes("c"); got[len(got)-1] != "abandoned" {
				t.Fatalf("events %v", got)
			}
			if err := v.e.Abandon(v.ctx, "c", CauseCustomer); !errors.Is(err, ErrWrongState) {
				t.Fatalf("second abandon: %v", err)
			}
		})
	}
}

// TestAbandonRefusesAnUnknownCause: a cause the event's readers do not
// know would be read as the customer's leaving; refused before routing
// lets go of anything.
func TestAbandonRefusesAnUnknownCause(t *testing.T) {
	t.Parallel()
	v := newEnv(t, nil)
	v.enqueue(Request{ConversationID: "c"})
	for _, cause := range []AbandonCause{"", "spam"} {
		if err := v.e.Abandon(v.ctx, "c", cause); !errors.Is(err, ErrInvalid) {
			t.Errorf("abandon with cause %q: %v; want ErrInvalid", cause, err)
		}
	}
	v.expect("c", ConvWaiting, "")
}

func TestEnqueueErrors(t *testing.T) {
	t.Parallel()
	v := newEnv(t, []QueueConfig{{Name: "voice-only", Channels: []string{"voice"}}})
	cases := []struct {
		desc string
		req  Request
		want error
	}{
		{desc: "unknown queue", req: Request{ConversationID: "x", Queue: "nope", Channel: "voice"}, want: ErrUnknownQueue},
		{desc: "channel the queue does not take", req: Request{ConversationID: "x", Channel: "chat"}, want: ErrUnknownChannel},
		{desc: "unknown channel", req: Request{ConversationID: "x", Channel: "fax"}, want: ErrUnknownChannel},
		{desc: "missing id", req: Request{Channel: "voice"}, want: ErrInvalid},
	}
	for _, c := range cases {
		if err := v.e.Enqueue(v.ctx, c.req); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v; want %v", c.desc, err, c.want)
		}
	}
	v.enqueue(Request{ConversationID: "dup", Channel: "voice"})
	if err := v.e.Enqueue(v.ctx, Request{ConversationID: "dup", Channel: "voice"}); !errors.Is(err, ErrExists) {
		t.Errorf("second enqueue: %v; want ErrExists", err)
	}
	v.must(v.e.Abandon(v.ctx, "dup", CauseCustomer))
	v.enqueue(Request{ConversationID: "dup", Channel: "voice"}) // a finished conversation may come back
	if err := v.e.Accept(v.ctx, "missing", "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("accept of missing conversation: %v", err)
	}
}

func TestPositionMatchesTheWaitingOrder(t *testing.T) {
	t.Parallel()
	v := newEnv(t, nil)
	reqs := []Request{
		{ConversationID: "c1", Channel: chChat},
		{ConversationID: "c2", Channel: chSMS, Priority: 3},
		{ConversationID: "c3", Channel: chChat, Priority: 1},
		{ConversationID: "c4", Channel: chEmail},
	}
	for _, r := range reqs {
		v.enqueue(r)
		v.clock.Add(time.Second)
	}
	w, err := v.e.Waiting(v.ctx, "support")
	v.must(err)
	if len(w) != len(reqs) {
		t.Fatalf("%d waiting, want %d", len(w), len(reqs))
	}
	all, err := v.e.Positions(v.ctx, "support")
	v.must(err)
	if len(all) != len(reqs) {
		t.Errorf("Positions has %d conversations, want %d", len(all), len(reqs))
	}
	for i, c := range w {
		pos, ok, err := v.e.Position(v.ctx, c.ID)
		v.must(err)
		if !ok || pos != i+1 {
			t.Errorf("%s: position %d (ok %v); Waiting has it at %d", c.ID, pos, ok, i+1)
		}
		if all[c.ID] != i+1 {
			t.Errorf("%s: Positions says %d; Waiting has it at %d", c.ID, all[c.ID], i+1)
		}
	}
	// Offered or unknown conversations have no place in line.
	v.agent(AgentConfig{ID: "a"})
	for _, id := range []string{w[0].ID, "nobody"} {
		if _, ok, err := v.e.Position(v.ctx, id); err != nil || ok {
			t.Errorf("%s: ok %v err %v; want no place in line", id, ok, err)
		}
	}
}
