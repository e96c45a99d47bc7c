package email

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// lease is one gateway's hold on one mailbox: a Redis key holding a random
// token with a TTL, renewed well before it lapses. A gateway that dies
// stops renewing and another takes the mailbox within the TTL. Every
// checkpoint write checks the token in the same script, so a gateway that
// lost its lease (paused, partitioned) cannot move the checkpoint.
type lease struct {
	rdb   redis.UniversalClient
	key   string
	token string
	ttl   time.Duration
}

func newLease(rdb redis.UniversalClient, key string, ttl time.Duration) *lease {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return &lease{rdb: rdb, key: key, token: hex.EncodeToString(b), ttl: ttl}
}

// acquire takes the lease if nobody holds it (or we do).
func (l *lease) acquire(ctx context.Context) (bool, error) {
	ok, err := scriptLeaseAcquire.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("email: lease %s: %w", l.key, err)
	}
	return ok == 1, nil
}

// renew extends the lease; false means another gateway holds it now.
func (l *lease) renew(ctx context.Context) (bool, error) {
	ok, err := scriptLeaseRenew.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("email: renew lease %s: %w", l.key, err)
	}
	return ok == 1, nil
}

// release gives the mailbox up at once (a clean shutdown), so another
// gateway need not wait for the TTL.
func (l *lease) release(ctx context.Context) {
	_ = scriptLeaseRelease.Run(ctx, l.rdb, []string{l.key}, l.token).Err()
}

//go:embed lua/*.lua
var luaFS embed.FS

// The scripts, one file each with its KEYS, ARGV and return codes.
var (
	scriptLeaseAcquire = loadScript("lease_acquire.lua")
	scriptLeaseRenew   = loadScript("lease_renew.lua")
	scriptLeaseRelease = loadScript("lease_release.lua")
	scriptCheckpoint   = loadScript("checkpoint.lua")
)

func loadScript(name string) *redis.Script {
	b, err := luaFS.ReadFile("lua/" + name)
	if err != nil {
		panic("email: embedded script missing: " + name)
	}
	return redis.NewScript(string(b))
}
