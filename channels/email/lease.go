package email

import (
	"context"
	"crypto/rand"
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

var (
	scriptLeaseAcquire = redis.NewScript(`
-- KEYS[1] lease  ARGV[1] token  ARGV[2] ttl ms. Returns 1 when held.
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)
	scriptLeaseRenew = redis.NewScript(`
-- KEYS[1] lease  ARGV[1] token  ARGV[2] ttl ms. Returns 1 when still held.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)
	scriptLeaseRelease = redis.NewScript(`
-- KEYS[1] lease  ARGV[1] token.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`)
	// scriptCheckpoint moves the checkpoint forward only, and only for the
	// lease holder. Returns 1 written, 0 lease lost.
	scriptCheckpoint = redis.NewScript(`
-- KEYS[1] lease  KEYS[2] checkpoint hash  ARGV[1] token  ARGV[2] uidvalidity  ARGV[3] uid
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local f = redis.call('HMGET', KEYS[2], 'uidvalidity', 'uid')
if f[1] == ARGV[2] and tonumber(f[2] or '0') >= tonumber(ARGV[3]) then return 1 end
redis.call('HSET', KEYS[2], 'uidvalidity', ARGV[2], 'uid', ARGV[3])
return 1`)
)
