package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// Session is a login: the cookie value and the CSRF token, each shown to
// the client once, and who logged in.
type Session struct {
	ID        string
	CSRFToken string
	Principal Principal
}

// Login checks the rate limit for id and ip, then the password, and opens
// a session. Errors: *RateLimitError, ErrInvalidCredentials.
func (s *Service) Login(ctx context.Context, id, password, ip string) (Session, error) {
	att, err := s.admit(ctx, id, ip)
	if err != nil {
		return Session{}, err
	}
	a, err := s.verify(ctx, id, password)
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		if serr := s.settle(ctx, att, loginFail); serr != nil {
			return Session{}, serr
		}
		return Session{}, err
	case err != nil:
		_ = s.settle(ctx, att, loginAbort) // the store is failing already
		return Session{}, err
	}
	if err := s.settle(ctx, att, loginOK); err != nil {
		return Session{}, err
	}
	sid, err := randomString(32)
	if err != nil {
		return Session{}, err
	}
	csrf, err := randomString(32)
	if err != nil {
		return Session{}, err
	}
	key := s.keys.session(secretHash(sid))
	now := s.cfg.Clock.Now().UnixMilli()
	pipe := s.rdb.TxPipeline()
	pipe.HSet(ctx, key, "acct", a.ID, "csrf", csrf, "created", now, "seen", now)
	pipe.PExpire(ctx, key, s.cfg.IdleTimeout)
	if _, err := pipe.Exec(ctx); err != nil {
		return Session{}, fmt.Errorf("auth: store session for %s: %w", a.ID, err)
	}
	p := principalOf(a, ViaSession)
	p.csrf, p.sessionKey = csrf, key
	return Session{ID: sid, CSRFToken: csrf, Principal: p}, nil
}

// Logout ends p's session; for a token principal it does nothing.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if p.sessionKey == "" {
		return nil
	}
	if err := s.rdb.Del(ctx, p.sessionKey).Err(); err != nil {
		return fmt.Errorf("auth: logout %s: %w", p.AccountID, err)
	}
	return nil
}

// Check authenticates r by its bearer token or else its session cookie,
// and slides the session's idle expiry. It checks no CSRF token and no
// role: websocket handlers call it before upgrading, and Middleware adds
// the rest for HTTP. A browser's websocket carries the cookie but cannot
// carry a CSRF header; the Origin check of the upgrade stands in for it.
// ErrUnauthenticated when neither credential is valid.
func (s *Service) Check(r *http.Request) (Principal, error) {
	ctx := r.Context()
	if h := r.Header.Get(echo.HeaderAuthorization); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return Principal{}, fmt.Errorf("%w: unsupported authorization scheme", ErrUnauthenticated)
		}
		return s.tokenPrincipal(ctx, strings.TrimSpace(tok))
	}
	ck, err := r.Cookie(s.cfg.CookieName)
	if err != nil || ck.Value == "" {
		return Principal{}, ErrUnauthenticated
	}
	return s.sessionPrincipal(ctx, ck.Value)
}

func (s *Service) sessionPrincipal(ctx context.Context, sid string) (Principal, error) {
	key := s.keys.session(secretHash(sid))
	res, err := s.session.Run(ctx, s.rdb, []string{key},
		s.keys.prefix, s.cfg.Clock.Now().UnixMilli(), s.cfg.IdleTimeout.Milliseconds(),
		s.cfg.AbsoluteTimeout.Milliseconds(), touchAfter.Milliseconds()).StringSlice()
	if err != nil {
		return Principal{}, fmt.Errorf("auth: session: %w", err)
	}
	if len(res) < 7 {
		return Principal{}, fmt.Errorf("%w: session expired or unknown", ErrUnauthenticated)
	}
	if res[4] == "1" {
		return Principal{}, fmt.Errorf("%w: account disabled", ErrUnauthenticated)
	}
	a := Account{ID: res[0], Name: res[2], Role: Role(res[3]), Skills: splitList(res[5]), Queues: splitList(res[6])}
	if len(res) > 7 {
		a.DisplayName = res[7]
	}
	p := principalOf(a, ViaSession)
	p.csrf, p.sessionKey = res[1], key
	return p, nil
}

// CSRFToken returns the CSRF token of p's session, "" for a token.
func (p Principal) CSRFToken() string { return p.csrf }

// checkCSRF compares the X-CSRF-Token header with the session's token in
// constant time.
func checkCSRF(r *http.Request, p Principal) error {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" || p.csrf == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.csrf)) != 1 {
		return ErrCSRF
	}
	return nil
}

// stateChanging reports methods that need a CSRF token on a session.
func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

func principalOf(a Account, via string) Principal {
	return Principal{AccountID: a.ID, Name: a.Name, DisplayName: a.CustomerName(), Role: a.Role, Skills: a.Skills, Queues: a.Queues, Via: via}
}

// secureRequest reports whether the client reached us over TLS, directly
// or, with TrustProxy, through a proxy that says so.
func (s *Service) secureRequest(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.cfg.TrustProxy && strings.EqualFold(r.Header.Get(echo.HeaderXForwardedProto), "https")
}

// clientIP is the address login failures are counted against.
func (s *Service) clientIP(r *http.Request) string {
	if s.cfg.TrustProxy {
		return echo.ExtractIPFromXFFHeader()(r)
	}
	return echo.ExtractIPDirect()(r)
}

// sessionCookie builds the cookie carrying sid; an empty sid deletes it.
func (s *Service) sessionCookie(r *http.Request, sid string) *http.Cookie {
	c := &http.Cookie{
		Name:     s.cfg.CookieName,
		Value:    sid,
		Path:     "/",
		HttpOnly: true,
		// Lax, not Strict: following a link to the console from an email
		// or a ticket should find the agent still signed in. CSRF tokens
		// cover the state-changing requests Lax would let through.
		SameSite: http.SameSiteLaxMode,
		Secure:   s.cfg.SecureCookie || s.secureRequest(r),
	}
	if sid == "" {
		c.MaxAge = -1
	}
	return c
}
