package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Login failures are counted per account and per client IP in Redis, so the
// limit holds however many gateways an attacker spreads attempts over. The
// per-account count stops guessing one password from many addresses; the
// per-IP count stops one address from trying many accounts.

// failKeys returns the counters for a login attempt. An id that could not
// be an account still gets a counter, under its hash, so odd ids neither
// escape the limit nor put arbitrary text into key names.
func (s *Service) failKeys(id, ip string) (acct, addr string) {
	if !idPattern.MatchString(id) {
		id = "~" + secretHash(id)[:32]
	}
	return s.keys.failAccount(id), s.keys.failIP(ip)
}

// checkLimit refuses the attempt when either counter is at the limit.
func (s *Service) checkLimit(ctx context.Context, id, ip string) error {
	acct, addr := s.failKeys(id, ip)
	pipe := s.rdb.Pipeline()
	counts := []*redis.StringCmd{pipe.Get(ctx, acct), pipe.Get(ctx, addr)}
	ttls := []*redis.DurationCmd{pipe.PTTL(ctx, acct), pipe.PTTL(ctx, addr)}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("auth: login rate limit: %w", err)
	}
	var wait time.Duration
	for i := range counts {
		n, _ := counts[i].Int()
		if n >= s.cfg.MaxFailures {
			wait = max(wait, ttls[i].Val())
		}
	}
	if wait > 0 {
		return &RateLimitError{RetryAfter: wait}
	}
	return nil
}

// recordFailure counts one failed attempt against both counters.
func (s *Service) recordFailure(ctx context.Context, id, ip string) error {
	acct, addr := s.failKeys(id, ip)
	err := s.loginFailed.Run(ctx, s.rdb, []string{acct, addr}, s.cfg.FailureWindow.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("auth: record failed login: %w", err)
	}
	return nil
}

// clearAccountFailures forgets an account's failures after a successful
// login. The IP's count stays: one right password does not make an
// address that guessed at many accounts trustworthy.
func (s *Service) clearAccountFailures(ctx context.Context, id string) error {
	acct, _ := s.failKeys(id, "")
	if err := s.rdb.Del(ctx, acct).Err(); err != nil {
		return fmt.Errorf("auth: clear failed logins: %w", err)
	}
	return nil
}
