package routing

import (
	"strconv"
	"testing"
	"time"
)

func secs(ss ...int) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = time.Duration(s) * time.Second
	}
	return out
}

func TestEstimateFromMeasuredWaits(t *testing.T) {
	t.Parallel()
	many := secs(10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
	cases := []struct {
		desc            string
		waits, handles  []time.Duration
		agents, waiting int
		low, high       time.Duration
		enough          bool
	}{
		{desc: "no agents online: nothing to say", waits: many, handles: secs(60), agents: 0, waiting: 3},
		{desc: "too few samples", waits: secs(30, 40), agents: 2, low: 30 * time.Second, high: 30 * time.Second},
		{desc: "steady queue: median to p90 of measured waits", waits: many, agents: 2,
			low: 50 * time.Second, high: 90 * time.Second, enough: true},
		{desc: "queue grew: the model raises the top", waits: many, handles: secs(120), agents: 2, waiting: 10,
			low: 50 * time.Second, high: 600 * time.Second, enough: true},
		{desc: "empty queue with free agents: the bottom is zero", waits: many, handles: secs(120), agents: 4, waiting: 0,
			low: 0, high: 90 * time.Second, enough: true},
		{desc: "divides by agents online, not all agents", waits: many, handles: secs(60), agents: 1, waiting: 20,
			low: 50 * time.Second, high: 1200 * time.Second, enough: true},
		{desc: "no waits yet: model only", handles: secs(60), agents: 2, waiting: 4, low: 120 * time.Second, high: 120 * time.Second},
	}
	for _, c := range cases {
		got := estimate(summarize(c.waits, c.handles), c.agents, c.waiting)
		if got.Low != c.low || got.High != c.high || got.Enough != c.enough {
			t.Errorf("%s: got %v..%v enough=%v; want %v..%v enough=%v", c.desc, got.Low, got.High, got.Enough, c.low, c.high, c.enough)
		}
	}
}

func TestEstimateAndRecord(t *testing.T) {
	t.Parallel()
	v := newEnv(t, nil)
	v.must(v.e.UpsertAgent(v.ctx, AgentConfig{ID: "a", Capacity: map[string]int{"chat": 1}}))
	// Twelve customers each wait 10 s longer than the one before them.
	for i := range 12 {
		v.enqueue(Request{ConversationID: "c" + string(rune('a'+i))})
	}
	v.must(v.e.SetAgentState(v.ctx, "a", StateAvailable, ""))
	for range 12 {
		v.clock.Add(10 * time.Second)
		a := v.agentStatus("a")
		v.must(v.e.Accept(v.ctx, a.Conversations[0], "a"))
		v.must(v.e.Close(v.ctx, a.Conversations[0], "a"))
	}
	est, err := v.e.Estimate(v.ctx, "support")
	v.must(err)
	if !est.Enough || est.Samples != 12 || est.AgentsOnline != 1 || est.Low != 0 || est.High != 100*time.Second {
		t.Fatalf("estimate %+v", est)
	}
	v.enqueue(Request{ConversationID: "x"})
	v.must(v.e.RecordEstimate(v.ctx, "x", est))
	if c := v.conv("x"); c.Estimate == nil || *c.Estimate != (Estimate{Low: est.Low, High: est.High, Enough: true}) {
		t.Fatalf("stored estimate %+v", c.Estimate)
	}
	v.must(v.e.Accept(v.ctx, "x", "a"))
	var acc Event
	for _, e := range v.events() {
		if e.Type == EventAccepted && e.ConversationID == "x" {
			acc = e
		}
	}
	if acc.EstimateHigh != est.High {
		t.Fatalf("accepted event %+v does not carry the estimate", acc)
	}
	if err := v.e.RecordEstimate(v.ctx, "missing", est); err == nil {
		t.Fatal("estimate recorded for a missing conversation")
	}
}

// TestEstimateReusesSamplesBriefly: for samplesFresh the measured waits and
// handle times are reused, while agents online and conversations waiting
// are read every time; after it, new measurements count.
func TestEstimateReusesSamplesBriefly(t *testing.T) {
	t.Parallel()
	v := newEnv(t, nil)
	v.must(v.e.UpsertAgent(v.ctx, AgentConfig{ID: "a", Capacity: map[string]int{"chat": 1}}))
	// serve has n conversations waited for and held, each for hold.
	serve := func(n int, hold time.Duration) {
		for i := range n {
			v.enqueue(Request{ConversationID: "s" + strconv.Itoa(n) + "-" + strconv.Itoa(i)})
		}
		for range n {
			a := v.agentStatus("a")
			v.must(v.e.Accept(v.ctx, a.Conversations[0], "a"))
			v.clock.Add(hold)
			v.must(v.e.Close(v.ctx, a.Conversations[0], "a"))
		}
	}
	v.must(v.e.SetAgentState(v.ctx, "a", StateAvailable, ""))
	serve(3, 10*time.Second)
	first, err := v.e.Estimate(v.ctx, "support")
	v.must(err)
	if first.Samples != 3 || first.AgentsOnline != 1 || first.Waiting != 0 {
		t.Fatalf("first estimate %+v; want 3 samples, 1 agent online, none waiting", first)
	}
	// More measured, someone waiting and the agent away, all within the
	// second: the samples are the ones read, the rest is live.
	serve(2, 0)
	v.clock.Add(samplesFresh / 2)
	v.must(v.e.SetAgentState(v.ctx, "a", StateAway, ""))
	v.enqueue(Request{ConversationID: "waiting"})
	again, err := v.e.Estimate(v.ctx, "support")
	v.must(err)
	if again.Samples != 3 || again.AgentsOnline != 0 || again.Waiting != 1 {
		t.Fatalf("estimate within the second %+v; want the 3 samples read, 0 agents online, 1 waiting", again)
	}
	v.clock.Add(samplesFresh)
	later, err := v.e.Estimate(v.ctx, "support")
	v.must(err)
	if later.Samples != 5 {
		t.Fatalf("estimate after the second %+v; want the 5 samples measured", later)
	}
	at, err := v.e.EstimateAt(v.ctx, "support", 1)
	v.must(err)
	if at.Samples != 5 {
		t.Fatalf("EstimateAt %+v; want the 5 handle times measured", at)
	}
}

// An estimate from samples already read sorts and allocates nothing: the
// percentiles are worked out once per read, not once per SMS acknowledged
// (every estimate cloned and sorted up to 200 waits).
func TestEstimateFromReusedSamplesAllocatesNothing(t *testing.T) {
	waits := make([]time.Duration, 200)
	for i := range waits {
		waits[i] = time.Duration(200-i) * time.Second
	}
	sm := summarize(waits, secs(60, 90, 120))
	var est Estimate
	if n := testing.AllocsPerRun(100, func() { est = estimate(sm, 3, 12) }); n != 0 {
		t.Errorf("%v allocations per estimate, want 0", n)
	}
	if est.Low != 100*time.Second || est.High != 360*time.Second || !est.Enough {
		t.Errorf("estimate %v..%v enough=%v, want 100s..360s enough=true (12 waiting × 90 s ÷ 3 agents)", est.Low, est.High, est.Enough)
	}
}
