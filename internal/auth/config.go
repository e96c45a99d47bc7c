package auth

import (
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
)

// Defaults applied to zero fields of Config.
const (
	DefaultIdleTimeout      = 8 * time.Hour
	DefaultAbsoluteTimeout  = 7 * 24 * time.Hour
	DefaultMaxFailures      = 5
	DefaultFailureWindow    = 15 * time.Minute
	DefaultMaxThrottle      = 5 * time.Minute
	DefaultMaxFailuresPerIP = 100
	DefaultCookieName       = "sb_session"
	DefaultWorkspace        = "default"
	// touchAfter is how stale a session's last-seen time may get before a
	// request writes it again: sliding expiry to the minute, without a
	// Redis write on every request.
	touchAfter = time.Minute
)

// Clock tells the time. Tests inject one to expire sessions without waiting.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config configures a Service. Every zero field takes the default named in
// its comment.
type Config struct {
	// Redis holds accounts, sessions, tokens and login failures. Required.
	Redis redis.UniversalClient
	// Workspace is the hash tag of every key, sb:{<Workspace>}:...
	// Zero: "default".
	Workspace string
	// IdleTimeout ends a session not used for this long; every use slides
	// it. Zero: 8 h.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after login, used or not.
	// Zero: 7 days.
	AbsoluteTimeout time.Duration
	// MaxFailures failed logins of an account throttle it: each further
	// attempt waits 1 s, doubling per failure up to MaxThrottle. Failures
	// from an address the account signed in from before are counted apart
	// for that address, so nobody elsewhere can keep the owner out.
	// Zero: 5.
	MaxFailures int
	// MaxThrottle is the longest wait between attempts on a throttled
	// account. Zero: 5 min.
	MaxThrottle time.Duration
	// MaxFailuresPerIP failed logins from one client IP within
	// FailureWindow refuse its logins until the window ends. Keep it above
	// what an office behind one NAT address mistypes. Zero: 100.
	MaxFailuresPerIP int
	// FailureWindow is how long failures are remembered: an account's
	// after its last failure, an IP's after its first. Zero: 15 min.
	FailureWindow time.Duration
	// TrustProxy takes the client IP from X-Forwarded-For and TLS from
	// X-Forwarded-Proto, as set by a reverse proxy in front of the gateway.
	// Leave it off when clients reach the gateway directly: they could
	// forge both headers. Zero: off.
	TrustProxy bool
	// SecureCookie marks the session cookie Secure on every answer, as it
	// must be when the gateway's public URL is https: a TLS-terminating
	// proxy may reach the gateway over plain HTTP without saying so. Off:
	// the cookie is Secure when the request came over TLS (or, with
	// TrustProxy, X-Forwarded-Proto says https).
	SecureCookie bool
	// CookieName names the session cookie. Zero: "sb_session".
	CookieName string
	// BcryptCost is the password hashing cost. Zero: bcrypt.DefaultCost.
	// Tests lower it to bcrypt.MinCost.
	BcryptCost int
	// Clock tells the time of sessions. Nil: the system clock.
	Clock Clock
}

func (c Config) withDefaults() (Config, error) {
	if c.Redis == nil {
		return c, fmt.Errorf("auth: Config.Redis is required")
	}
	if c.Workspace == "" {
		c.Workspace = DefaultWorkspace
	}
	if strings.ContainsAny(c.Workspace, "{}") {
		return c, fmt.Errorf("auth: workspace %q must not contain braces", c.Workspace)
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.AbsoluteTimeout <= 0 {
		c.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.MaxThrottle <= 0 {
		c.MaxThrottle = DefaultMaxThrottle
	}
	if c.MaxFailuresPerIP <= 0 {
		c.MaxFailuresPerIP = DefaultMaxFailuresPerIP
	}
	if c.FailureWindow <= 0 {
		c.FailureWindow = DefaultFailureWindow
	}
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = bcrypt.DefaultCost
	}
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		return c, fmt.Errorf("auth: bcrypt cost %d out of range", c.BcryptCost)
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	return c, nil
}
