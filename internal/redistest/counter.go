package redistest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// Counter is a client hook (redis.UniversalClient.AddHook) that counts what
// the client sends, for tests that a piece of work costs no more round
// trips than it should.
type Counter struct {
	// Commands counts every command, in a pipeline or not.
	Commands atomic.Int64
	// Trips counts round trips: a command alone is one, a pipeline is one.
	Trips atomic.Int64

	mu    sync.Mutex
	alone map[string]int64
}

// Alone is how many commands named name (HGETALL, hexists) were sent on
// their own, outside a pipeline.
func (c *Counter) Alone(name string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.alone[strings.ToLower(name)]
}

// Reset starts every count again from zero.
func (c *Counter) Reset() {
	c.Commands.Store(0)
	c.Trips.Store(0)
	c.mu.Lock()
	c.alone = nil
	c.mu.Unlock()
}

func (c *Counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *Counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.Commands.Add(1)
		c.Trips.Add(1)
		c.mu.Lock()
		if c.alone == nil {
			c.alone = map[string]int64{}
		}
		c.alone[strings.ToLower(cmd.Name())]++
		c.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (c *Counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.Commands.Add(int64(len(cmds)))
		c.Trips.Add(1)
		return next(ctx, cmds)
	}
}

var _ redis.Hook = (*Counter)(nil)

// EachPrimary runs fn on rdb's server, or on every primary of a Redis
// Cluster: what one node reports (INFO commandstats, PUBSUB NUMSUB) is
// only its own share there.
func EachPrimary(ctx context.Context, rdb redis.UniversalClient, fn func(context.Context, *redis.Client) error) error {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	default:
		return fmt.Errorf("redistest: EachPrimary: a %T is neither a client nor a cluster client", rdb)
	}
}
