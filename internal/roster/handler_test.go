package roster

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/auth"
)

// api serves the roster routes behind the real auth middleware.
type api struct {
	f   *fixture
	srv *httptest.Server
}

func newAPI(t *testing.T) *api {
	t.Helper()
	f := newFixture(t)
	e := echo.New()
	g := e.Group("/api/v1")
	auth.NewHandler(f.auth).Register(g)
	NewHandler(f.svc, f.auth, nil).Register(g)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &api{f: f, srv: srv}
}

func (a *api) token(t *testing.T, role auth.Role) string {
	t.Helper()
	tok, err := a.f.auth.CreateToken(context.Background(), "t-"+string(role), role)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends a request with a bearer token ("" for none) and decodes a JSON
// answer into out when given.
func (a *api) do(t *testing.T, tok, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, path, res.StatusCode, b, err)
		}
	}
	return res.StatusCode
}

func TestAgentsAPIIsForAdminsOnly(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	agent, sup := a.token(t, auth.RoleAgent), a.token(t, auth.RoleSupervisor)
	routes := []struct{ method, path, body string }{
		{"GET", "/agents", ""},
		{"POST", "/agents", `{"id":"eve","password":"eve-password"}`},
		{"GET", "/agents/admin", ""},
		{"PATCH", "/agents/admin", `{"disabled":true}`},
		{"POST", "/agents/admin/password", `{"password":"taken-over-1"}`},
	}
	for _, r := range routes {
		if code := a.do(t, "", r.method, r.path, r.body, nil); code != http.StatusUnauthorized {
			t.Errorf("%s %s without credentials: %d", r.method, r.path, code)
		}
		for _, tok := range []string{agent, sup} {
			if code := a.do(t, tok, r.method, r.path, r.body, nil); code != http.StatusForbidden {
				t.Errorf("%s %s as a non-admin: %d", r.method, r.path, code)
			}
		}
	}
	if _, err := a.f.svc.Get(context.Background(), "eve"); err == nil {
		t.Fatal("a non-admin added an agent")
	}
}

func TestAgentsAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	adm := a.token(t, auth.RoleAdmin)

	var added addResponse
	code := a.do(t, adm, "POST", "/agents", `{"id":"bo","name":"Bo Berg","role":"agent","skills":["es"],
		"queues":["billing"],"capacity":{"chat":2}}`, &added)
	if code != http.StatusCreated || added.Agent.ID != "bo" || added.Agent.Capacity["chat"] != 2 || len(added.Password) < auth.MinPasswordLen {
		t.Fatalf("add: %d %+v", code, added)
	}
	var chosen addResponse
	if code := a.do(t, adm, "POST", "/agents", `{"id":"cy","password":"chosen-password"}`, &chosen); code != http.StatusCreated || chosen.Password != "" {
		t.Fatalf("add with a chosen password: %d %+v", code, chosen)
	}
	var e errorBody
	for _, tc := range []struct {
		desc, body string
		want       int
	}{
		{"taken id", `{"id":"bo"}`, http.StatusConflict},
		{"unknown queue", `{"id":"dy","queues":["sales"]}`, http.StatusBadRequest},
		{"misspelt field", `{"id":"dy","skils":["es"]}`, http.StatusBadRequest},
		{"not JSON", `{"id":`, http.StatusBadRequest},
		{"trailing data", `{"id":"dy"} {}`, http.StatusBadRequest},
		{"huge body", `{"id":"dy","name":"` + strings.Repeat("x", maxBody) + `"}`, http.StatusRequestEntityTooLarge},
	} {
		if code := a.do(t, adm, "POST", "/agents", tc.body, &e); code != tc.want {
			t.Errorf("%s: %d %q, want %d", tc.desc, code, e.Error, tc.want)
		}
	}

	var list listResponse
	if code := a.do(t, adm, "GET", "/agents", "", &list); code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	if len(list.Agents) != 2 || strings.Join(list.Queues, ",") != "support,billing" || len(list.Channels) != 4 {
		t.Fatalf("list: %+v", list)
	}

	var ag Agent
	if code := a.do(t, adm, "PATCH", "/agents/bo", `{"name":"Bo B. Berg","capacity":{"sms":1},"disabled":true}`, &ag); code != http.StatusOK {
		t.Fatalf("patch: %d %+v", code, ag)
	}
	if ag.Name != "Bo B. Berg" || !ag.Disabled || ag.Capacity["sms"] != 1 || ag.Capacity["chat"] != 2 || ag.State != "offline" {
		t.Fatalf("patched: %+v", ag)
	}
	if code := a.do(t, adm, "GET", "/agents/nobody", "", &e); code != http.StatusNotFound {
		t.Fatalf("unknown: %d", code)
	}
	if code := a.do(t, adm, "PATCH", "/agents/bo", `{"role":"owner"}`, &e); code != http.StatusBadRequest || !strings.Contains(e.Error, "role") {
		t.Fatalf("bad role: %d %q", code, e.Error)
	}

	var pw passwordBody
	if code := a.do(t, adm, "POST", "/agents/cy/password", `{}`, &pw); code != http.StatusOK || len(pw.Password) < auth.MinPasswordLen {
		t.Fatalf("generated reset: %d %+v", code, pw)
	}
	if _, err := a.f.auth.Login(context.Background(), "cy", pw.Password, "192.0.2.9"); err != nil {
		t.Fatalf("login with the reset password: %v", err)
	}
	if code := a.do(t, adm, "POST", "/agents/cy/password", `{"password":"short"}`, &e); code != http.StatusBadRequest || strings.Contains(e.Error, "short") {
		t.Fatalf("short password: %d %q", code, e.Error)
	}
	if code := a.do(t, adm, "POST", "/agents/cy/password", `{"password":"admin-chose-this"}`, nil); code != http.StatusNoContent {
		t.Fatalf("chosen reset: %d", code)
	}
}

// A session needs the CSRF token for changes, like every other route; and
// an admin signed in through a session may not disable themselves.
func TestAgentsAPIThroughASession(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	ctx := context.Background()
	if _, err := a.f.auth.EnsureAdmin(ctx, "admin-password"); err != nil {
		t.Fatal(err)
	}
	sess, err := a.f.auth.Login(ctx, "admin", "admin-password", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	send := func(csrf, body string) (int, string) {
		req, _ := http.NewRequest("PATCH", a.srv.URL+"/api/v1/agents/admin", strings.NewReader(body))
		req.AddCookie(&http.Cookie{Name: a.f.auth.CookieName(), Value: sess.ID})
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, _ := send("", `{"name":"Root"}`); code != http.StatusForbidden {
		t.Fatalf("without CSRF: %d", code)
	}
	if code, body := send(sess.CSRFToken, `{"disabled":true}`); code != http.StatusConflict {
		t.Fatalf("self-disable: %d %s", code, body)
	}
	if code, body := send(sess.CSRFToken, `{"name":"Root"}`); code != http.StatusOK || !strings.Contains(body, `"Root"`) {
		t.Fatalf("rename: %d %s", code, body)
	}
}
