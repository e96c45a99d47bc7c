package routing

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// simulateWaits measures, by simulation, what the conversation at place
// pos waits when agents agents are all busy and each conversation takes a
// handle time drawn from the measured ones: the truth the estimate is held
// against.
func simulateWaits(r *rand.Rand, pos, agents int, handles []time.Duration, trials int) []time.Duration {
	draw := func() float64 { return float64(handles[r.IntN(len(handles))]) }
	out := make([]time.Duration, trials)
	free := make([]float64, agents)
	for t := range trials {
		for a := range free {
			// Exponential handle times are memoryless: a busy agent's
			// remaining time is a full draw.
			free[a] = draw()
		}
		var start float64
		for range pos {
			sort.Float64s(free)
			start = free[0]
			free[0] = start + draw()
		}
		out[t] = time.Duration(start)
	}
	return out
}

func TestPositionWaitAgainstMeasuredWaits(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	mean := 4 * time.Minute
	// Recent handle times as routing measures them: roughly exponential,
	// as contact centres find them.
	handles := make([]time.Duration, 200)
	for i := range handles {
		handles[i] = time.Duration(r.ExpFloat64() * float64(mean))
	}
	for _, tc := range []struct{ pos, agents int }{{1, 1}, {3, 1}, {10, 1}, {1, 4}, {5, 4}, {20, 4}, {40, 10}} {
		waits := simulateWaits(r, tc.pos, tc.agents, handles, 4000)
		est := positionWait(tc.pos, summarize(nil, handles), tc.agents)
		if !est.Enough || est.Low > est.High {
			t.Fatalf("pos %d agents %d: %+v", tc.pos, tc.agents, est)
		}
		var sum time.Duration
		inside := 0
		for _, w := range waits {
			sum += w
			if w >= est.Low && w <= est.High {
				inside++
			}
		}
		measured := sum / time.Duration(len(waits))
		mid := (est.Low + est.High) / 2
		// The middle of the range is the expected wait: within 15 % of
		// the measured mean (measured handle times are only roughly
		// exponential, which shows most at the first places).
		if d := mid - measured; d > measured*15/100 || -d > measured*15/100 {
			t.Errorf("pos %d agents %d: estimate middle %v, measured mean %v", tc.pos, tc.agents, mid, measured)
		}
		// About two callers in three see their wait inside the range
		// (at the first place, from 0 to twice the step: 86 %).
		if share := float64(inside) / float64(len(waits)); share < 0.5 || share > 0.9 {
			t.Errorf("pos %d agents %d: %.0f%% of measured waits inside %v..%v", tc.pos, tc.agents, share*100, est.Low, est.High)
		}
	}
}

func TestPositionWaitDependsOnThePlace(t *testing.T) {
	t.Parallel()
	handles := secs(60, 120, 180, 60, 120, 180, 60, 120, 180, 120)
	first, tenth := positionWait(1, summarize(nil, handles), 2), positionWait(10, summarize(nil, handles), 2)
	if first.High >= tenth.Low {
		t.Fatalf("first %v..%v overlaps tenth %v..%v", first.Low, first.High, tenth.Low, tenth.High)
	}
	// pos × mean handle ÷ agents is the middle: 10 × 120 s ÷ 2.
	if mid := (tenth.Low + tenth.High) / 2; mid != 600*time.Second {
		t.Fatalf("tenth place middle %v", mid)
	}
	// Divided by the agents serving, not all agents.
	if one := positionWait(10, summarize(nil, handles), 1); (one.Low+one.High)/2 != 1200*time.Second {
		t.Fatalf("one agent: %v..%v", one.Low, one.High)
	}
	for _, c := range []struct {
		desc                 string
		pos, agents, handles int
		enough               bool
	}{
		{"no agent online", 3, 0, 10, false}, {"not waiting", 0, 2, 10, false},
		{"no handle measured", 3, 2, 0, false}, {"too few measured", 3, 2, 5, false}, {"enough", 3, 2, 10, true},
	} {
		if got := positionWait(c.pos, summarize(nil, handles[:c.handles]), c.agents); got.Enough != c.enough {
			t.Errorf("%s: %+v", c.desc, got)
		}
	}
}

func TestEstimateAtReadsTheQueue(t *testing.T) {
	t.Parallel()
	v := newEnv(t, nil)
	v.must(v.e.UpsertAgent(v.ctx, AgentConfig{ID: "a", Capacity: map[string]int{"chat": 1}}))
	for i := range 10 {
		v.enqueue(Request{ConversationID: "c" + string(rune('a'+i))})
	}
	v.must(v.e.SetAgentState(v.ctx, "a", StateAvailable, ""))
	// Ten conversations each held 30 s.
	for range 10 {
		a := v.agentStatus("a")
		v.must(v.e.Accept(v.ctx, a.Conversations[0], "a"))
		v.clock.Add(30 * time.Second)
		v.must(v.e.Close(v.ctx, a.Conversations[0], "a"))
	}
	est, err := v.e.EstimateAt(v.ctx, "support", 4)
	v.must(err)
	if !est.Enough || est.AgentsOnline != 1 || (est.Low+est.High)/2 != 120*time.Second {
		t.Fatalf("estimate at 4: %+v", est)
	}
	if _, err := v.e.EstimateAt(v.ctx, "nope", 1); err == nil {
		t.Fatal("unknown queue accepted")
	}
}
