package store

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// slotRetryHook carries a script through a Redis Cluster resharding. While a
// slot migrates, a script whose keys are split between the two nodes gets
// TRYAGAIN, and the source and target can hand it back and forth (ASK,
// TRYAGAIN, MOVED) until go-redis's redirect budget is spent. A script that
// derives keys from the workspace prefix instead of declaring them is
// refused by the source with "non local key" when it touches one the source
// no longer holds; every such script touches a never-written key first
// (TestEveryKeyDerivingScriptProbesFirst), so that refusal too comes before
// any write. Each of these replies means the script wrote nothing, so
// running it again is safe; a migration of one slot settles within
// milliseconds. Only single scripts
// are retried: pipelines report per command (Batcher sends a refused
// script again on its own, through this hook), and a plain command's
// caller decides for itself.
type slotRetryHook struct{}

// A script refused because its slot is moving is run again up to
// SlotRetries times, with a backoff doubling from SlotBackoff and capped at
// 64×SlotBackoff: about 2.5 s in all.
const (
	SlotRetries = 12
	SlotBackoff = 5 * time.Millisecond
)

// newSlotRetryHook retries scripts refused while their slot moves.
func newSlotRetryHook() slotRetryHook { return slotRetryHook{} }

// SlotWait waits before retry number attempt (0 for the first) of a script
// refused while its slot moves: SlotBackoff, doubling, capped at
// 64×SlotBackoff. It reports false if ctx ended first.
func SlotWait(ctx context.Context, attempt int) bool {
	t := time.NewTimer(SlotBackoff << min(attempt, 6))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (h slotRetryHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h slotRetryHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h slotRetryHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if !isScript(cmd) {
			return err
		}
		for attempt := 0; err != nil && SlotMoving(err) && attempt < SlotRetries; attempt++ {
			if !SlotWait(ctx, attempt) {
				return err
			}
			cmd.SetErr(nil)
			err = next(ctx, cmd)
		}
		return err
	}
}

func isScript(cmd redis.Cmder) bool {
	switch strings.ToLower(cmd.Name()) {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		return true
	}
	return false
}

// SlotMoving tells whether err is Redis Cluster refusing a script while a
// slot migrates: TRYAGAIN (its keys are split between two nodes; go-redis
// already retried it a few times), "non local key" (the script's slot
// probe), or an ASK or MOVED that outlasted go-redis's redirect budget
// (seen in CI: ASK, then TRYAGAIN from the importing node, then MOVED
// back, then ASK again). All of them come before the script wrote
// anything, so running it again is safe. Callers that bypass the client's
// hook (pipelines) retry up to SlotRetries times, waiting with SlotWait.
func SlotMoving(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "TRYAGAIN") || strings.HasPrefix(msg, "ASK ") || strings.HasPrefix(msg, "MOVED ") ||
		strings.Contains(msg, "Script attempted to access a non local key")
}

var _ redis.Hook = slotRetryHook{}
