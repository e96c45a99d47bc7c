package desk

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// standaloneReads counts commands named name sent on their own, outside a
// pipeline.
type standaloneReads struct {
	name string
	n    atomic.Int64
}

func (h *standaloneReads) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *standaloneReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == h.name {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (h *standaloneReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestClosingAsksAboutPromisesAlongTheRecord: whether a conversation waits
// for a promise is read in the round trip that reads its record, not in
// one of its own; and a conversation that waits is still closed right.
func TestClosingAsksAboutPromisesAlongTheRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	conv, _ := e.conversation(ana, ActiveMine)
	alone := &standaloneReads{name: "hexists"}
	e.rdb.AddHook(alone)
	closed, err := e.desk.Close(ctx, ana, conv, "")
	if err != nil {
		t.Fatal(err)
	}
	if closed.Open() || closed.Disposition != "resolved" {
		t.Fatalf("after Close: %+v", closed)
	}
	if n := alone.n.Load(); n != 0 {
		t.Fatalf("%d reads of the promise list on their own round trip; want it along the record's", n)
	}
}
