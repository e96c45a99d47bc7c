package auth

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors callers branch on. None of them, nor any error of this
// package, carries a password, session id or token.
var (
	// ErrUnauthenticated: no session or token, or one that is unknown,
	// expired or revoked.
	ErrUnauthenticated = errors.New("auth: not authenticated")
	// ErrInvalidCredentials: wrong account id or password, or a disabled
	// account; which one is not told.
	ErrInvalidCredentials = errors.New("auth: invalid account or password")
	// ErrForbidden: authenticated, but the role is not enough.
	ErrForbidden = errors.New("auth: forbidden")
	// ErrCSRF: a state-changing request on a session without the right
	// X-CSRF-Token.
	ErrCSRF = errors.New("auth: missing or wrong CSRF token")
	// ErrNotFound: no such account or token.
	ErrNotFound = errors.New("auth: not found")
	// ErrExists: the account id or token name is taken.
	ErrExists = errors.New("auth: already exists")
	// ErrBadInput: an id, name, role or password that is not acceptable.
	ErrBadInput = errors.New("auth: invalid input")
)

// RateLimitError refuses a login because of recent failures.
type RateLimitError struct {
	// RetryAfter is how long to wait before the next attempt.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("auth: too many failed logins, retry in %s", e.RetryAfter.Round(time.Second))
}
