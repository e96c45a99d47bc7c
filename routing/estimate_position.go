package routing

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// positionWait is the expected wait of the conversation at place pos
// (1-based) when agents agents serve the queue and recent conversations
// took handles each. While every agent is busy, one frees up on average
// every mean(handle) ÷ agents; the conversation at place pos starts at the
// pos-th such moment. With handle times roughly exponential (what contact
// centres measure, and Erlang C's own assumption) that moment is
// Gamma-distributed with mean pos × H ÷ agents and standard deviation
// √pos × H ÷ agents: the range is that mean ± one deviation, so about two
// callers in three see their wait fall inside it and it widens honestly
// with the place. A queue-wide average that ignores the place tells the
// first and the tenth caller the same thing (Asterisk's mistake).
func positionWait(pos int, sm samples, agents int) Estimate {
	est := Estimate{Samples: sm.handles, AgentsOnline: agents, Waiting: pos}
	if agents <= 0 || pos <= 0 || sm.handles == 0 {
		return est
	}
	step := float64(sm.meanHandle) / float64(agents)
	p := float64(pos)
	est.Low = time.Duration(math.Max(0, (p-math.Sqrt(p))*step)).Round(time.Second)
	est.High = time.Duration((p + math.Sqrt(p)) * step).Round(time.Second)
	est.Enough = sm.handles >= MinEstimateSamples
	return est
}

// EstimateAt is the honest wait of the conversation at place pos of queue
// (Position gives the place): from the handle times last measured in the
// queue and the agents online for it. The desk's Place combines them, with
// the record it read: pos, ok, _ := e.PositionOf(ctx, st); e.EstimateAt(ctx,
// st.Queue, pos).
func (e *Engine) EstimateAt(ctx context.Context, queue string, pos int) (Estimate, error) {
	if _, ok := e.queues[queue]; !ok {
		return Estimate{}, fmt.Errorf("routing: estimate %q: %w", queue, ErrUnknownQueue)
	}
	var online *redis.IntCmd
	smp, err := e.readWithSamples(ctx, queue, func(p redis.Pipeliner) {
		online = p.SCard(ctx, e.k.online(queue))
	})
	if err != nil {
		return Estimate{}, fmt.Errorf("routing: estimate %s at %d: %w", queue, pos, err)
	}
	return positionWait(pos, smp.samples, int(online.Val())), nil
}
