package auth

import (
	"context"
	"fmt"
	"time"
)

// Login failures are counted in Redis, so the limits hold however many
// gateways an attacker spreads attempts over. Only failures count: a
// correct password never uses up anything, however many agents sign in at
// once from one office.
//
// An account that keeps failing is throttled, not locked: each attempt
// past Config.MaxFailures waits a delay that doubles per failure, up to
// Config.MaxThrottle. Addresses an account has signed in from are kept
// apart, each with its own throttle, so an attacker guessing from elsewhere
// cannot keep the account's owner out. A coarse per-IP cap
// (Config.MaxFailuresPerIP) stops one address from guessing at many
// accounts; its default leaves room for an office behind one NAT address,
// and the address is the one echo sees (X-Forwarded-For with TrustProxy).

const (
	// firstThrottle is the delay after the MaxFailures-th failure; each
	// further failure doubles it.
	firstThrottle = time.Second
	// knownAddressTTL is how long an address an account signed in from
	// stays known without another sign-in from it.
	knownAddressTTL = 30 * 24 * time.Hour
	// knownAddressMax bounds the known addresses kept per account.
	knownAddressMax = 20
)

// attempt is a login admitted by the limiter, to be settled once decided.
type attempt struct {
	throttle, ip, ipKey, known string
}

// throttleKeys returns the keys of a login attempt. An id that could not
// be an account still gets its throttle, under its hash, so odd ids
// neither escape the limit nor put arbitrary text into key names.
func (s *Service) throttleKeys(id, ip string) (acct, pair, ipKey, known string) {
	if !idPattern.MatchString(id) {
		id = "~" + secretHash(id)[:32]
	}
	return s.keys.failAccount(id), s.keys.failPair(id, ip), s.keys.failIP(ip), s.keys.knownAddrs(id)
}

// admit lets a login attempt be checked, or refuses it with a
// *RateLimitError saying how long to wait.
func (s *Service) admit(ctx context.Context, id, ip string) (attempt, error) {
	acct, pair, ipKey, known := s.throttleKeys(id, ip)
	res, err := s.loginAttempt.Run(ctx, s.rdb, []string{acct, pair, ipKey, known},
		s.cfg.Clock.Now().UnixMilli(), ip, s.cfg.MaxFailures, s.cfg.FailureWindow.Milliseconds(),
		firstThrottle.Milliseconds(), s.cfg.MaxThrottle.Milliseconds(), s.cfg.MaxFailuresPerIP).Int64Slice()
	if err != nil {
		return attempt{}, fmt.Errorf("auth: login rate limit: %w", err)
	}
	if len(res) != 2 {
		return attempt{}, fmt.Errorf("auth: login rate limit: unexpected answer %v", res)
	}
	if res[0] == 1 {
		return attempt{}, &RateLimitError{RetryAfter: time.Duration(max(res[1], 1)) * time.Millisecond}
	}
	a := attempt{throttle: acct, ip: ip, ipKey: ipKey, known: known}
	if res[1] == 2 {
		a.throttle = pair
	}
	return a, nil
}

// Outcomes of an admitted attempt, as login_result.lua names them.
const (
	loginOK    = "ok"
	loginFail  = "fail"
	loginAbort = "abort"
)

// settle records the outcome of an admitted attempt.
func (s *Service) settle(ctx context.Context, a attempt, outcome string) error {
	err := s.loginResult.Run(ctx, s.rdb, []string{a.throttle, a.ipKey, a.known},
		outcome, s.cfg.FailureWindow.Milliseconds(), s.cfg.Clock.Now().UnixMilli(), a.ip,
		knownAddressTTL.Milliseconds(), knownAddressMax).Err()
	if err != nil {
		return fmt.Errorf("auth: record login %s: %w", outcome, err)
	}
	return nil
}
