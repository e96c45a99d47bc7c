package desk

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// agentListReads counts the reads of routing's agent set on one client.
type agentListReads struct{ n atomic.Int64 }

func (h *agentListReads) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *agentListReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "smembers" && len(cmd.Args()) == 2 {
			if key, _ := cmd.Args()[1].(string); strings.HasSuffix(key, ":agents") {
				h.n.Add(1)
			}
		}
		return next(ctx, cmd)
	}
}
func (h *agentListReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestAvailabilityBurstReadsAgentsOnce: a burst of visitors asking at once
// who is online costs one read of the agent list, not one each, and each
// of them hears the same count.
func TestAvailabilityBurstReadsAgentsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reads := &agentListReads{}
	e.rdb.AddHook(reads)
	const visitors = 50
	var wg sync.WaitGroup
	counts := make([]int, visitors)
	errs := make([]error, visitors)
	for i := range visitors {
		wg.Go(func() {
			st, err := e.desk.Availability(context.Background(), "support")
			counts[i], errs[i] = st.AgentsOnline, err
		})
	}
	wg.Wait()
	for i := range visitors {
		if errs[i] != nil {
			t.Fatalf("visitor %d: %v", i, errs[i])
		}
		if counts[i] != 4 {
			t.Errorf("visitor %d told %d agents online; want 4", i, counts[i])
		}
	}
	if n := reads.n.Load(); n != 1 {
		t.Errorf("%d reads of the agent list for %d visitors at once; want 1", n, visitors)
	}
}
