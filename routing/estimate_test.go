package routing

import (
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
		got := estimate(c.waits, c.handles, c.agents, c.waiting)
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
