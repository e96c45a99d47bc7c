package auth

import (
	"context"
	"fmt"
	"time"
)

// Login failures are counted per account and per client IP in Redis, so the
// limit holds however many gateways an attacker spreads attempts over. The
// per-account count stops guessing one password from many addresses; the
// per-IP count stops one address from trying many accounts.

// failKeys returns the counters for a login attempt. An id that could not
// be an account still gets a counter, under its hash, so odd ids neither
// escape the limit nor put arbitrary text into key names.
func (s *Service) failKeys(id, ip string) []string {
	if !idPattern.MatchString(id) {
		id = "~" + secretHash(id)[:32]
	}
	return []string{s.keys.failAccount(id), s.keys.failIP(ip)}
}

// admit counts the attempt as a failure, or refuses it with a
// *RateLimitError when either counter is at the limit.
func (s *Service) admit(ctx context.Context, id, ip string) error {
	res, err := s.loginAttempt.Run(ctx, s.rdb, s.failKeys(id, ip),
		s.cfg.MaxFailures, s.cfg.FailureWindow.Milliseconds()).Int64Slice()
	if err != nil {
		return fmt.Errorf("auth: login rate limit: %w", err)
	}
	if len(res) == 2 && res[0] == 1 {
		return &RateLimitError{RetryAfter: time.Duration(max(res[1], 1)) * time.Millisecond}
	}
	return nil
}

// succeeded takes back the count admit made for an attempt that logged in.
func (s *Service) succeeded(ctx context.Context, id, ip string) error {
	if err := s.loginOK.Run(ctx, s.rdb, s.failKeys(id, ip)).Err(); err != nil {
		return fmt.Errorf("auth: clear failed logins: %w", err)
	}
	return nil
}
