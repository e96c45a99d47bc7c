package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
)

const (
	anaPassword = "ana-secret-1"
	bobPassword = "bob-secret-2"
	admPassword = "adm-secret-3"
)

// app is an echo server with the auth handlers and one route per access
// rule, as the gateway wires them.
type app struct {
	svc *Service
	srv *httptest.Server
}

func newApp(t *testing.T, svc *Service) *app {
	t.Helper()
	e := echo.New()
	g := e.Group("/api/v1")
	NewHandler(svc).Register(g)
	who := func(c echo.Context) error {
		p, ok := PrincipalFrom(c)
		if !ok {
			return c.String(http.StatusInternalServerError, "no principal")
		}
		if q, ok := FromContext(c.Request().Context()); !ok || q.AccountID != p.AccountID {
			return c.String(http.StatusInternalServerError, "no principal in request context")
		}
		return c.String(http.StatusOK, p.AccountID)
	}
	g.GET("/conversations", who, svc.Middleware(RoleAgent))
	g.POST("/conversations", who, svc.Middleware())
	g.GET("/stats", who, svc.Middleware(RoleSupervisor))
	g.DELETE("/accounts/x", who, svc.Middleware(RoleAdmin))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &app{svc: svc, srv: srv}
}

// client is one browser: a cookie jar and the CSRF token it was given.
type client struct {
	t    *testing.T
	app  *app
	hc   *http.Client
	csrf string
}

func (a *app) client(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, app: a, hc: &http.Client{Jar: jar}}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, path string, body any, header map[string]string) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.app.srv.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *client) login(id, password string, header map[string]string) reply {
	c.t.Helper()
	r := c.do(http.MethodPost, "/api/v1/login", map[string]string{"id": id, "password": password}, header)
	if r.status == http.StatusOK {
		var lr struct {
			Principal Principal `json:"principal"`
			CSRF      string    `json:"csrf_token"`
		}
		if err := json.Unmarshal([]byte(r.body), &lr); err != nil {
			c.t.Fatalf("login body %q: %v", r.body, err)
		}
		if lr.Principal.AccountID != id || lr.CSRF == "" {
			c.t.Fatalf("login body %q", r.body)
		}
		c.csrf = lr.CSRF
	}
	return r
}

func wantStatus(t *testing.T, what string, r reply, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d (body %q)", what, r.status, want, r.body)
	}
}

func assertNoSecret(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Fatalf("%s leaks a secret: %q", what, text)
		}
	}
}

// seed creates ana (agent), bob (supervisor) and root (admin).
func seed(t *testing.T, s *Service) {
	t.Helper()
	ctx := context.Background()
	for _, a := range []struct {
		acct Account
		pw   string
	}{
		{Account{ID: "ana", Name: "Ana", Role: RoleAgent, Skills: []string{"es"}, Queues: []string{"support"}}, anaPassword},
		{Account{ID: "bob", Name: "Bob", Role: RoleSupervisor}, bobPassword},
		{Account{ID: "root", Name: "Root", Role: RoleAdmin}, admPassword},
	} {
		if err := s.CreateAccount(ctx, a.acct, a.pw); err != nil {
			t.Fatalf("create %s: %v", a.acct.ID, err)
		}
	}
}

func TestLoginLogout(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, testWorkspace(t), nil)
	seed(t, svc)
	a := newApp(t, svc)
	c := a.client(t)

	r := c.login("ana", "wrong-password", nil)
	wantStatus(t, "wrong password", r, http.StatusUnauthorized)
	assertNoSecret(t, "401 body", r.body, "wrong-password")
	if r.header.Get("Set-Cookie") != "" {
		t.Fatal("failed login set a cookie")
	}
	wantStatus(t, "unknown account", c.login("nobody", "whatever-pw", nil), http.StatusUnauthorized)
	wantStatus(t, "empty body", c.do(http.MethodPost, "/api/v1/login", map[string]string{}, nil), http.StatusBadRequest)
	wantStatus(t, "me before login", c.do(http.MethodGet, "/api/v1/me", nil, nil), http.StatusUnauthorized)

	r = c.login("ana", anaPassword, nil)
	wantStatus(t, "login", r, http.StatusOK)
	assertNoSecret(t, "login body", r.body, anaPassword)
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"sb_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Fatalf("cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(ck, "Secure") {
		t.Fatalf("cookie %q is Secure over plain HTTP", ck)
	}
	r = c.do(http.MethodGet, "/api/v1/me", nil, nil)
	wantStatus(t, "me", r, http.StatusOK)
	if !strings.Contains(r.body, `"id":"ana"`) || !strings.Contains(r.body, c.csrf) || !strings.Contains(r.body, `"queues":["support"]`) {
		t.Fatalf("me body %q", r.body)
	}
	wantStatus(t, "logout without CSRF", c.do(http.MethodPost, "/api/v1/logout", nil, nil), http.StatusForbidden)
	wantStatus(t, "logout", c.do(http.MethodPost, "/api/v1/logout", nil, map[string]string{"X-CSRF-Token": c.csrf}), http.StatusNoContent)
	wantStatus(t, "me after logout", c.do(http.MethodGet, "/api/v1/me", nil, nil), http.StatusUnauthorized)
}

func TestSecureCookie(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc         string
		trustProxy   bool
		secureCookie bool
		secure       bool
	}{
		{desc: "trusted proxy says https", trustProxy: true, secure: true},
		{desc: "untrusted header ignored", trustProxy: false, secure: false},
		// Issue 11 item 5: an https public URL makes the cookie Secure even
		// when the proxy in front says nothing.
		{desc: "https public URL", trustProxy: false, secureCookie: true, secure: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			svc, _, _ := newService(t, testWorkspace(t), func(c *Config) { c.TrustProxy, c.SecureCookie = tc.trustProxy, tc.secureCookie })
			seed(t, svc)
			r := newApp(t, svc).client(t).login("ana", anaPassword, map[string]string{"X-Forwarded-Proto": "https"})
			wantStatus(t, "login", r, http.StatusOK)
			if got := strings.Contains(r.header.Get("Set-Cookie"), "Secure"); got != tc.secure {
				t.Fatalf("Secure %v, want %v: %q", got, tc.secure, r.header.Get("Set-Cookie"))
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	ws := testWorkspace(t)
	trust := func(c *Config) { c.TrustProxy = true; c.MaxFailuresPerIP = 5 }
	svc, _, _ := newService(t, ws, trust)
	seed(t, svc)
	// A second gateway on the same Redis.
	svc2, _, _ := newService(t, ws, trust)
	a1, a2 := newApp(t, svc), newApp(t, svc2)
	from := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }

	// Per account: five failures from five addresses, spread over both
	// gateways, throttle the account for addresses it never signed in from.
	for i := range 5 {
		app := a1
		if i%2 == 1 {
			app = a2
		}
		wantStatus(t, "failure", app.client(t).login("ana", "guess-"+strconv.Itoa(i), from("203.0.113."+strconv.Itoa(i+1))), http.StatusUnauthorized)
	}
	r := a2.client(t).login("ana", anaPassword, from("203.0.113.100"))
	wantStatus(t, "account throttled", r, http.StatusTooManyRequests)
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra != 1 {
		t.Fatalf("Retry-After %q, want 1 (the first delay)", r.header.Get("Retry-After"))
	}
	wantStatus(t, "other account unaffected", a1.client(t).login("bob", bobPassword, from("203.0.113.100")), http.StatusOK)

	// Per IP: one address failing at MaxFailuresPerIP accounts is refused
	// for all of them.
	for i := range 5 {
		wantStatus(t, "spray", a1.client(t).login("user"+strconv.Itoa(i), "password1", from("198.51.100.7")), http.StatusUnauthorized)
	}
	wantStatus(t, "IP refused", a2.client(t).login("root", admPassword, from("198.51.100.7")), http.StatusTooManyRequests)
	wantStatus(t, "same account, other IP", a2.client(t).login("root", admPassword, from("198.51.100.8")), http.StatusOK)

	// A success clears the account's count.
	for range 4 {
		wantStatus(t, "failure", a1.client(t).login("bob", "nope-nope", from("192.0.2.1")), http.StatusUnauthorized)
	}
	wantStatus(t, "success", a1.client(t).login("bob", bobPassword, from("192.0.2.2")), http.StatusOK)
	wantStatus(t, "count restarted", a1.client(t).login("bob", "nope-nope", from("192.0.2.3")), http.StatusUnauthorized)
	wantStatus(t, "still allowed", a1.client(t).login("bob", bobPassword, from("192.0.2.4")), http.StatusOK)
}

// Issue 11 item 3: ten agents signing in at once from one office address
// all get in; correct logins are not failures.
func TestLoginBurstFromOneAddress(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, testWorkspace(t), nil)
	ctx := context.Background()
	for i := range 10 {
		if err := svc.CreateAccount(ctx, Account{ID: "agent" + strconv.Itoa(i), Role: RoleAgent}, anaPassword); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = svc.Login(ctx, "agent"+strconv.Itoa(i), anaPassword, "192.0.2.50")
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, agent%d: %v", round, i, err)
			}
		}
	}
}

// Issue 11 item 3: past MaxFailures an account waits a delay that doubles
// per failure, capped, instead of being locked for the whole window.
func TestLoginThrottleDelays(t *testing.T) {
	t.Parallel()
	svc, clock, _ := newService(t, testWorkspace(t), func(c *Config) { c.MaxThrottle = 4 * time.Second })
	seed(t, svc)
	ctx := context.Background()
	ip := func(i int) string { return "203.0.113." + strconv.Itoa(i) }
	for i := range DefaultMaxFailures {
		if _, err := svc.Login(ctx, "ana", "wrong-guess", ip(i)); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	wantWait := func(what string, want time.Duration) {
		t.Helper()
		_, err := svc.Login(ctx, "ana", anaPassword, ip(99))
		var rl *RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != want {
			t.Fatalf("%s: %v, want a wait of %s", what, err, want)
		}
	}
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		wantWait("throttled", want)
		clock.Advance(want - time.Millisecond)
		wantWait("just before the delay ends", time.Millisecond)
		clock.Advance(time.Millisecond)
		if _, err := svc.Login(ctx, "ana", "wrong-again", ip(7)); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("attempt after %s: %v", want, err)
		}
	}
	clock.Advance(4 * time.Second)
	if _, err := svc.Login(ctx, "ana", anaPassword, ip(99)); err != nil {
		t.Fatalf("right password once the delay passed: %v", err)
	}
	if _, err := svc.Login(ctx, "ana", anaPassword, ip(98)); err != nil {
		t.Fatalf("success cleared the throttle: %v", err)
	}
}

// Issue 11 item 3: an attacker failing at the admin's account from
// elsewhere does not keep the admin out of an address they signed in from
// before; an attacker at that address is throttled there too.
func TestLoginThrottleSparesKnownAddress(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, testWorkspace(t), nil)
	seed(t, svc)
	ctx := context.Background()
	const office = "192.0.2.10"
	if _, err := svc.Login(ctx, "root", admPassword, office); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * DefaultMaxFailures {
		_, _ = svc.Login(ctx, "root", "attacker-guess", "198.51.100."+strconv.Itoa(i%250+1))
	}
	var rl *RateLimitError
	if _, err := svc.Login(ctx, "root", admPassword, "198.51.100.200"); !errors.As(err, &rl) {
		t.Fatalf("unknown address: %v, want throttled", err)
	}
	if _, err := svc.Login(ctx, "root", admPassword, office); err != nil {
		t.Fatalf("admin at a known address: %v", err)
	}
	for range DefaultMaxFailures {
		if _, err := svc.Login(ctx, "root", "guess-at-office", office); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("guess at the office: %v", err)
		}
	}
	if _, err := svc.Login(ctx, "root", admPassword, office); !errors.As(err, &rl) {
		t.Fatalf("known address after its own failures: %v, want throttled", err)
	}
}

// Issue 11 item 3: the per-IP cap tolerates an office behind one NAT
// address mistyping, and is configurable.
func TestLoginPerIPCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const nat = "192.0.2.77"
	svc, _, _ := newService(t, testWorkspace(t), nil)
	seed(t, svc)
	for i := range 30 {
		_, _ = svc.Login(ctx, "someone"+strconv.Itoa(i), "mistyped-1", nat)
	}
	if _, err := svc.Login(ctx, "ana", anaPassword, nat); err != nil {
		t.Fatalf("after 30 mistakes behind one NAT: %v", err)
	}
	strict, _, _ := newService(t, testWorkspace(t), func(c *Config) { c.MaxFailuresPerIP = 3 })
	seed(t, strict)
	for i := range 3 {
		_, _ = strict.Login(ctx, "someone"+strconv.Itoa(i), "mistyped-1", nat)
	}
	var rl *RateLimitError
	if _, err := strict.Login(ctx, "ana", anaPassword, nat); !errors.As(err, &rl) {
		t.Fatalf("MaxFailuresPerIP 3: %v, want refused", err)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, testWorkspace(t), nil)
	seed(t, svc)
	c := newApp(t, svc).client(t)
	wantStatus(t, "login", c.login("ana", anaPassword, nil), http.StatusOK)
	wantStatus(t, "GET needs no token", c.do(http.MethodGet, "/api/v1/conversations", nil, nil), http.StatusOK)
	wantStatus(t, "POST without token", c.do(http.MethodPost, "/api/v1/conversations", nil, nil), http.StatusForbidden)
	wantStatus(t, "POST with wrong token", c.do(http.MethodPost, "/api/v1/conversations", nil, map[string]string{"X-CSRF-Token": "forged"}), http.StatusForbidden)
	wantStatus(t, "POST with token", c.do(http.MethodPost, "/api/v1/conversations", nil, map[string]string{"X-CSRF-Token": c.csrf}), http.StatusOK)
	// Another session's token does not fit this one.
	other := c.app.client(t)
	wantStatus(t, "login again", other.login("ana", anaPassword, nil), http.StatusOK)
	wantStatus(t, "token of another session", c.do(http.MethodPost, "/api/v1/conversations", nil, map[string]string{"X-CSRF-Token": other.csrf}), http.StatusForbidden)
}

func TestBearerTokens(t *testing.T) {
	t.Parallel()
	svc, _, rdb := newService(t, testWorkspace(t), nil)
	a := newApp(t, svc)
	ctx := context.Background()
	tok, err := svc.CreateToken(ctx, "crm", RoleSupervisor)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "sbt_") {
		t.Fatalf("token %q", tok)
	}
	if _, err := svc.CreateToken(ctx, "crm", RoleAgent); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	c := a.client(t)
	bearer := map[string]string{"Authorization": "Bearer " + tok}
	wantStatus(t, "supervisor route", c.do(http.MethodGet, "/api/v1/stats", nil, bearer), http.StatusOK)
	wantStatus(t, "POST needs no CSRF with a bearer token", c.do(http.MethodPost, "/api/v1/conversations", nil, bearer), http.StatusOK)
	wantStatus(t, "admin route", c.do(http.MethodDelete, "/api/v1/accounts/x", nil, bearer), http.StatusForbidden)
	r := c.do(http.MethodGet, "/api/v1/me", nil, bearer)
	if !strings.Contains(r.body, `"id":"token:crm"`) || !strings.Contains(r.body, `"via":"token"`) {
		t.Fatalf("me body %q", r.body)
	}

	// Only the hash is stored.
	keys, err := rdb.Keys(ctx, "sb:{"+svc.cfg.Workspace+"}:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		assertNoSecret(t, "key name", k, tok)
		if rdb.Type(ctx, k).Val() == "hash" {
			for f, v := range rdb.HGetAll(ctx, k).Val() {
				assertNoSecret(t, "stored field "+f, v, tok, strings.TrimPrefix(tok, "sbt_"))
			}
		}
	}

	infos, err := svc.Tokens(ctx)
	if err != nil || len(infos) != 1 || infos[0].Name != "crm" || infos[0].Role != RoleSupervisor {
		t.Fatalf("Tokens: %v %+v", err, infos)
	}
	if err := svc.RevokeToken(ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "revoked token", c.do(http.MethodGet, "/api/v1/stats", nil, bearer), http.StatusUnauthorized)
	if err := svc.RevokeToken(ctx, "crm"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	wantStatus(t, "made-up token", c.do(http.MethodGet, "/api/v1/stats", nil, map[string]string{"Authorization": "Bearer sbt_madeup"}), http.StatusUnauthorized)
	wantStatus(t, "basic auth", c.do(http.MethodGet, "/api/v1/stats", nil, map[string]string{"Authorization": "Basic YTpi"}), http.StatusUnauthorized)
}

func TestIdleExpiry(t *testing.T) {
	t.Parallel()
	svc, clock, _ := newService(t, testWorkspace(t), nil)
	seed(t, svc)
	c := newApp(t, svc).client(t)
	wantStatus(t, "login", c.login("ana", anaPassword, nil), http.StatusOK)
	// Used every 7 h 59 m the session lives on past its first 8 h.
	for i := range 3 {
		clock.Advance(DefaultIdleTimeout - time.Minute)
		wantStatus(t, "use "+strconv.Itoa(i), c.do(http.MethodGet, "/api/v1/me", nil, nil), http.StatusOK)
	}
	clock.Advance(DefaultIdleTimeout + time.Second)
	wantStatus(t, "after 8 h idle", c.do(http.MethodGet, "/api/v1/me", nil, nil), http.StatusUnauthorized)

	// However busy, a session ends 7 days after login.
	wantStatus(t, "login again", c.login("ana", anaPassword, nil), http.StatusOK)
	for elapsed := time.Duration(0); elapsed < DefaultAbsoluteTimeout-8*time.Hour; elapsed += 7 * time.Hour {
		clock.Advance(7 * time.Hour)
		wantStatus(t, "busy session", c.do(http.MethodGet, "/api/v1/me", nil, nil), http.StatusOK)
	}
	clock.Advance(8*time.Hour + time.Minute)
	wantStatus(t, "after 7 days", c.do(http.MethodGet, "/api/v1/me", nil, nil), http.StatusUnauthorized)
}

func TestRoles(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, testWorkspace(t), nil)
	seed(t, svc)
	a := newApp(t, svc)
	tests := []struct {
		desc    string
		id, pw  string
		agent   int
		super   int
		admin   int
		isAgent bool
	}{
		{desc: "agent", id: "ana", pw: anaPassword, agent: 200, super: 403, admin: 403, isAgent: true},
		{desc: "supervisor", id: "bob", pw: bobPassword, agent: 200, super: 200, admin: 403},
		{desc: "admin", id: "root", pw: admPassword, agent: 200, super: 200, admin: 200},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c := a.client(t)
			wantStatus(t, "login", c.login(tc.id, tc.pw, nil), http.StatusOK)
			csrf := map[string]string{"X-CSRF-Token": c.csrf}
			wantStatus(t, "agent route", c.do(http.MethodGet, "/api/v1/conversations", nil, nil), tc.agent)
			wantStatus(t, "supervisor route", c.do(http.MethodGet, "/api/v1/stats", nil, nil), tc.super)
			wantStatus(t, "admin route", c.do(http.MethodDelete, "/api/v1/accounts/x", nil, csrf), tc.admin)
			req := httptest.NewRequest(http.MethodGet, "/ws", nil)
			for _, ck := range c.hc.Jar.Cookies(mustURL(t, a.srv.URL)) {
				req.AddCookie(ck)
			}
			p, err := svc.Check(req)
			if err != nil || p.AccountID != tc.id || p.IsAgentOnly() != tc.isAgent {
				t.Fatalf("Check: %+v %v", p, err)
			}
		})
	}

	// Disabling an account ends its sessions and refuses its logins.
	c := a.client(t)
	wantStatus(t, "login", c.login("ana", anaPassword, nil), http.StatusOK)
	if err := svc.SetDisabled(context.Background(), "ana", true); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "disabled session", c.do(http.MethodGet, "/api/v1/me", nil, nil), http.StatusUnauthorized)
	wantStatus(t, "disabled login", c.login("ana", anaPassword, nil), http.StatusUnauthorized)
	if err := svc.SetDisabled(context.Background(), "nobody", true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("disable unknown: %v", err)
	}
	if _, err := svc.Check(httptest.NewRequest(http.MethodGet, "/ws", nil)); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("Check without credentials: %v", err)
	}
}

func TestEnsureAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	svc, _, _ := newService(t, testWorkspace(t), nil)
	gen, err := svc.EnsureAdmin(ctx, "")
	if err != nil || len(gen) < 20 {
		t.Fatalf("EnsureAdmin: %q %v", gen, err)
	}
	if again, err := svc.EnsureAdmin(ctx, ""); err != nil || again != "" {
		t.Fatalf("second EnsureAdmin: %q %v", again, err)
	}
	c := newApp(t, svc).client(t)
	wantStatus(t, "admin login with generated password", c.login(AdminID, gen, nil), http.StatusOK)

	svc2, _, _ := newService(t, testWorkspace(t), nil)
	if gen, err := svc2.EnsureAdmin(ctx, "from-the-env-1"); err != nil || gen != "" {
		t.Fatalf("EnsureAdmin with password: %q %v", gen, err)
	}
	if _, err := svc2.Login(ctx, AdminID, "from-the-env-1", "192.0.2.1"); err != nil {
		t.Fatalf("login: %v", err)
	}

	// Gateways starting together: one account, one printed password.
	ws := testWorkspace(t)
	var wg sync.WaitGroup
	results := make([]string, 4)
	for i := range results {
		s, _, _ := newService(t, ws, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if results[i], err = s.EnsureAdmin(ctx, ""); err != nil {
				t.Errorf("EnsureAdmin: %v", err)
			}
		}()
	}
	wg.Wait()
	printed := 0
	for _, r := range results {
		if r != "" {
			printed++
		}
	}
	if printed != 1 {
		t.Fatalf("%d gateways printed a password, want 1", printed)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, testWorkspace(t), nil)
	seed(t, svc)
	ctx := context.Background()
	short, long := "tiny7", strings.Repeat("L0ngSecret", 8)
	for _, pw := range []string{short, long} {
		err := svc.CreateAccount(ctx, Account{ID: "eve", Role: RoleAgent}, pw)
		if !errors.Is(err, ErrBadInput) {
			t.Fatalf("password of %d bytes: %v", len(pw), err)
		}
		assertNoSecret(t, "CreateAccount error", err.Error(), pw)
		err = svc.SetPassword(ctx, "ana", pw)
		assertNoSecret(t, "SetPassword error", err.Error(), pw)
	}
	_, err := svc.Login(ctx, "ana", "Hunter2-wrong", "192.0.2.9")
	if !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	assertNoSecret(t, "Login error", err.Error(), "Hunter2-wrong")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer sbt_secret-value-123")
	_, err = svc.Check(req)
	assertNoSecret(t, "Check error", err.Error(), "sbt_secret-value-123", "secret-value")
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: DefaultCookieName, Value: "cookie-secret-xyz"})
	_, err = svc.Check(req)
	assertNoSecret(t, "Check error", err.Error(), "cookie-secret-xyz")
	for range 5 {
		_, _ = svc.Login(ctx, "bob", "Wrong-guess-9", "192.0.2.10")
	}
	_, err = svc.Login(ctx, "bob", bobPassword, "192.0.2.11")
	var rl *RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("want rate limit, got %v", err)
	}
	assertNoSecret(t, "rate limit error", err.Error(), bobPassword, "Wrong-guess-9")
}

func TestAccountValidation(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, testWorkspace(t), nil)
	ctx := context.Background()
	tests := []struct {
		desc string
		acct Account
		want error
	}{
		{desc: "ok", acct: Account{ID: "ana.r@example", Role: RoleAgent, Skills: []string{"es", "billing"}}},
		{desc: "duplicate", acct: Account{ID: "ana.r@example", Role: RoleAgent}, want: ErrExists},
		{desc: "empty id", acct: Account{Role: RoleAgent}, want: ErrBadInput},
		{desc: "colon in id", acct: Account{ID: "token:x", Role: RoleAgent}, want: ErrBadInput},
		{desc: "unknown role", acct: Account{ID: "x", Role: "root"}, want: ErrBadInput},
		{desc: "comma in a skill", acct: Account{ID: "y", Role: RoleAgent, Skills: []string{"a,b"}}, want: ErrBadInput},
	}
	for _, tc := range tests {
		err := svc.CreateAccount(ctx, tc.acct, "good-password")
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.desc, err, tc.want)
		}
	}
	a, err := svc.Account(ctx, "ana.r@example")
	if err != nil || a.Name != "ana.r@example" || len(a.Skills) != 2 || a.Created.IsZero() {
		t.Fatalf("Account: %+v %v", a, err)
	}
	if _, err := ParseRole("owner"); err == nil {
		t.Fatal("ParseRole accepted owner")
	}
}

func TestCLI(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, testWorkspace(t), nil)
	ctx := context.Background()
	var out bytes.Buffer
	if got := SplitList("es, billing,"); strings.Join(got, "|") != "es|billing" {
		t.Fatalf("SplitList: %q", got)
	}
	if pw, err := ReadPassword(strings.NewReader("pass-from-stdin\r\n")); err != nil || pw != "pass-from-stdin" {
		t.Fatalf("ReadPassword: %q %v", pw, err)
	}
	if _, err := ReadPassword(strings.NewReader("")); !errors.Is(err, ErrBadInput) {
		t.Fatalf("empty stdin: %v", err)
	}
	out.Reset()
	if err := TokenCreate(ctx, svc, "crm", "supervisor", &out); err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out.String())
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if p, err := svc.Check(req); err != nil || p.Role != RoleSupervisor {
		t.Fatalf("created token: %+v %v", p, err)
	}
	if err := TokenCreate(ctx, svc, "bad", "owner", &out); err == nil {
		t.Fatal("token with unknown role created")
	}
	out.Reset()
	if err := TokenList(ctx, svc, &out); err != nil || !strings.Contains(out.String(), "crm") {
		t.Fatalf("token list %v:\n%s", err, out.String())
	}
	assertNoSecret(t, "token list", out.String(), tok)
	if err := TokenRevoke(ctx, svc, "crm", &out); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Check(req); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
}

func TestLoginRateLimitParallelBurst(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, testWorkspace(t), nil)
	seed(t, svc)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.Login(ctx, "ana", "parallel-guess", "192.0.2."+strconv.Itoa(i+1))
		}()
	}
	wg.Wait()
	tried := 0
	for _, err := range errs {
		var rl *RateLimitError
		switch {
		case errors.Is(err, ErrInvalidCredentials):
			tried++
		case errors.As(err, &rl):
		default:
			t.Fatalf("unexpected: %v", err)
		}
	}
	if tried != DefaultMaxFailures {
		t.Fatalf("%d guesses checked, want %d", tried, DefaultMaxFailures)
	}
}

// Issue 11 item 7: while Redis is down, a signed-in client is told 503 (try
// again), never 401 (signed out), and the answer does not show the store's
// address.
func TestStoreDownIsUnavailableNotUnauthenticated(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	svc, err := New(Config{Redis: rdb, Workspace: testWorkspace(t), BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, svc)
	c := a.client(t)
	u := mustURL(t, a.srv.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: DefaultCookieName, Value: "a-session-from-before"}})
	for _, r := range []reply{
		c.do(http.MethodGet, "/api/v1/me", nil, nil),
		c.do(http.MethodGet, "/api/v1/conversations", nil, map[string]string{"Authorization": "Bearer sbt_some-token"}),
		c.do(http.MethodPost, "/api/v1/login", map[string]string{"id": "ana", "password": anaPassword}, nil),
	} {
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Fatalf("store down: %d %q, want 503 with Retry-After", r.status, r.body)
		}
		if strings.Contains(r.body, "127.0.0.1") {
			t.Fatalf("answer leaks the store's address: %q", r.body)
		}
	}
}

// An agent sets the name customers are told for themselves; an empty one
// goes back to the first word of the name; a bad one is refused with the
// field named and changes nothing.
func TestDisplayNameSetByTheAgent(t *testing.T) {
	t.Parallel()
	svc, _, _ := newService(t, testWorkspace(t), nil)
	ctx := context.Background()
	if err := svc.CreateAccount(ctx, Account{ID: "admin2", Name: "Administrator", Role: RoleAdmin}, admPassword); err != nil {
		t.Fatal(err)
	}
	c := newApp(t, svc).client(t)
	wantStatus(t, "login", c.login("admin2", admPassword, nil), http.StatusOK)
	csrf := map[string]string{"X-CSRF-Token": c.csrf}
	r := c.do(http.MethodGet, "/api/v1/me", nil, nil)
	if !strings.Contains(r.body, `"display_name":"Administrator"`) {
		t.Fatalf("me before: %s", r.body)
	}
	wantStatus(t, "without CSRF", c.do(http.MethodPatch, "/api/v1/me", map[string]string{"display_name": "Sam"}, nil), http.StatusForbidden)
	r = c.do(http.MethodPatch, "/api/v1/me", map[string]string{"display_name": "Sam from Support"}, csrf)
	wantStatus(t, "set", r, http.StatusOK)
	if !strings.Contains(r.body, `"display_name":"Sam from Support"`) {
		t.Fatalf("answer: %s", r.body)
	}
	if a, _ := svc.Account(ctx, "admin2"); a.DisplayName != "Sam from Support" || a.CustomerName() != "Sam from Support" || a.Name != "Administrator" {
		t.Fatalf("account: %+v", a)
	}
	// The session reads it back (a reload of the console).
	if r := c.do(http.MethodGet, "/api/v1/me", nil, nil); !strings.Contains(r.body, `"display_name":"Sam from Support"`) {
		t.Fatalf("me after: %s", r.body)
	}
	for _, bad := range []string{strings.Repeat("x", 65), "two\nlines", " padded", "bell\a"} {
		r := c.do(http.MethodPatch, "/api/v1/me", map[string]string{"display_name": bad}, csrf)
		wantStatus(t, "bad name "+strconv.Quote(bad), r, http.StatusBadRequest)
		if !strings.Contains(r.body, "display_name") {
			t.Fatalf("error does not name the field: %s", r.body)
		}
	}
	wantStatus(t, "no field", c.do(http.MethodPatch, "/api/v1/me", map[string]string{"name": "x"}, csrf), http.StatusBadRequest)
	if a, _ := svc.Account(ctx, "admin2"); a.DisplayName != "Sam from Support" {
		t.Fatalf("a refused change changed the name: %+v", a)
	}
	wantStatus(t, "clear", c.do(http.MethodPatch, "/api/v1/me", map[string]string{"display_name": ""}, csrf), http.StatusOK)
	if a, _ := svc.Account(ctx, "admin2"); a.DisplayName != "" || a.CustomerName() != "Administrator" {
		t.Fatalf("after clearing: %+v", a)
	}
	if got := (Account{Name: "Ana Lima"}).CustomerName(); got != "Ana" {
		t.Fatalf("CustomerName of Ana Lima = %q", got)
	}
}
