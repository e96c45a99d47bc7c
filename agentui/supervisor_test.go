package agentui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/agentui/internal/fakebackend"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/realtime"
)

// supConsole is the fake console backend with the supervisor's rule: any
// conversation may be read and noted.
type supConsole struct{ *fakebackend.Fake }

func (s supConsole) Transcript(_ context.Context, _ desk.Actor, convID, after string, _ int) (desk.TranscriptPage, error) {
	if after != "" {
		return desk.TranscriptPage{Next: after}, nil
	}
	msgs := s.Messages(convID)
	p := desk.TranscriptPage{Messages: msgs}
	if len(msgs) > 0 {
		p.Next = msgs[len(msgs)-1].ID
	}
	return p, nil
}

func (s supConsole) Note(_ context.Context, who desk.Actor, convID, text string) (desk.Message, error) {
	return desk.Message{ID: "9-1", ConversationID: convID, Kind: desk.KindNote, Author: who.AccountID, Text: text, At: time.Now()}, nil
}

// fakeSupervisor records the actions the view passes on.
type fakeSupervisor struct {
	mu      sync.Mutex
	actions []string
}

func (f *fakeSupervisor) Board(context.Context) (any, error) {
	return map[string]any{"queues": []any{map[string]any{"queue": "support", "waiting": 2}}}, nil
}

func (f *fakeSupervisor) Assign(_ context.Context, who desk.Actor, conv, agent string) error {
	by := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "assign "+conv+" "+agent+" by "+by)
	return nil
}

func (f *fakeSupervisor) SetAgentState(_ context.Context, who desk.Actor, agent, state, reason string) error {
	by := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "state "+agent+" "+state+" ("+reason+") by "+by)
	return nil
}

// startSupervisor serves the console and the supervisor view; requests
// authenticate with "X-Test-User: id:role".
func startSupervisor(t *testing.T, changes <-chan struct{}) (*httptest.Server, *agentui.Supervisor, *fakeSupervisor, *fakebackend.Fake) {
	t.Helper()
	hub, err := realtime.New(realtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
	})
	f := fakebackend.New(hub)
	auth := func(r *http.Request) (desk.Actor, error) {
		id, role, ok := strings.Cut(r.Header.Get("X-Test-User"), ":")
		if !ok {
			return desk.Actor{}, agentui.ErrUnauthenticated
		}
		return desk.Actor{AccountID: id, Name: strings.ToUpper(id), Role: auth.Role(role)}, nil
	}
	h, err := agentui.New(agentui.Config{Backend: supConsole{f}, Hub: hub, Authenticate: auth})
	if err != nil {
		t.Fatal(err)
	}
	fs := &fakeSupervisor{}
	sup, err := agentui.NewSupervisor(agentui.SupervisorConfig{Backend: fs, Console: h, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	sup.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, sup, fs, f
}

func dialSupervisor(srv *httptest.Server, user, origin string) (*websocket.Conn, int, error) {
	h := http.Header{"Origin": {origin}}
	if user != "" {
		h.Set("X-Test-User", user)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/supervisor/ws", h)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	return ws, status, err
}

func TestSupervisorUpgradeNeedsASupervisor(t *testing.T) {
	srv, _, _, _ := startSupervisor(t, nil)
	for _, tc := range []struct {
		desc, user, origin string
		want               int
	}{
		{"anonymous", "", srv.URL, http.StatusUnauthorized},
		{"an agent", "ana:agent", srv.URL, http.StatusForbidden},
		{"a foreign page", "sam:supervisor", "https://evil.example", http.StatusForbidden},
	} {
		if _, status, err := dialSupervisor(srv, tc.user, tc.origin); err == nil || status != tc.want {
			t.Errorf("%s: status %d (%v), want %d", tc.desc, status, err, tc.want)
		}
	}
	for _, user := range []string{"sam:supervisor", "root:admin"} {
		ws, _, err := dialSupervisor(srv, user, srv.URL)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		_ = ws.Close()
	}
}

func TestSupervisorProtocol(t *testing.T) {
	srv, sup, fs, f := startSupervisor(t, nil)
	ws, _, err := dialSupervisor(srv, "sam:supervisor", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	c := &client{t: t, ws: ws}
	hello := c.next()
	board, _ := hello["board"].(map[string]any)
	if hello.str("type") != agentui.FrameHello || board == nil || hello["me"].(map[string]any)["role"] != "supervisor" {
		t.Fatalf("hello = %v", hello)
	}
	if !sup.Watching() {
		t.Fatal("the view does not know a supervisor is connected")
	}

	// Boards pushed by the wiring reach the connection.
	sup.PushBoard(map[string]any{"queues": []any{}, "marker": "fresh"})
	if got := c.next(); got.str("type") != agentui.FrameBoard || got["board"].(map[string]any)["marker"] != "fresh" {
		t.Fatalf("board frame = %v", got)
	}
	sup.PushAlert(map[string]any{"kind": "wait_over_limit"}, true)
	if got := c.next(); got.str("type") != agentui.FrameAlert || got["raised"] != true {
		t.Fatalf("alert frame = %v", got)
	}

	ack, _ := c.request(map[string]any{"type": "assign", "conv": "c9", "agent": "ana"})
	mustOK(t, ack)
	ack, _ = c.request(map[string]any{"type": "agent_state", "agent": "ben", "state": "away", "reason": "coaching"})
	mustOK(t, ack)
	for _, bad := range []map[string]any{
		{"type": "agent_state", "agent": "ben", "state": "asleep"},
		{"type": "assign", "conv": "c9"},
		{"type": "note", "conv": "c9", "text": "   "},
	} {
		if ack, _ := c.request(bad); ack["ok"] != false || ack.str("code") != agentui.CodeInvalid {
			t.Errorf("%v: ack %v, want invalid", bad, ack)
		}
	}
	if ack, _ := c.request(map[string]any{"type": "accept", "conv": "c9"}); ack.str("code") != agentui.CodeUnknownType {
		t.Errorf("an agent frame on the supervisor socket: %v", ack)
	}
	fs.mu.Lock()
	want := []string{"assign c9 ana by sam", "state ben away (coaching) by sam"}
	if strings.Join(fs.actions, "|") != strings.Join(want, "|") {
		t.Errorf("actions = %q, want %q", fs.actions, want)
	}
	fs.mu.Unlock()

	// Reading a conversation live: the backlog in the ack, then new
	// messages as they come; customer text is passed through as text.
	conv := f.Inbound("chat", "Maria Svensson", "<b>hello</b>", "nobody")
	ack, _ = c.request(map[string]any{"type": "watch", "conv": conv})
	mustOK(t, ack)
	msgs := ack["data"].(map[string]any)["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["text"] != "<b>hello</b>" {
		t.Fatalf("backlog = %v", msgs)
	}
	f.Inbound("chat", "Maria Svensson", "are you there?", "nobody")
	live, _ := c.until(func(fr frame) bool { return fr.str("type") == agentui.FrameMessage })
	if live["message"].(map[string]any)["text"] != "are you there?" {
		t.Fatalf("live message = %v", live)
	}
	ack, _ = c.request(map[string]any{"type": "note", "conv": conv, "text": "VIP, be quick"})
	mustOK(t, ack)
	if ack["data"].(map[string]any)["kind"] != desk.KindNote {
		t.Fatalf("note ack = %v", ack)
	}
	ack, _ = c.request(map[string]any{"type": "unwatch"})
	mustOK(t, ack)
}

// Run builds a board from the backend when the figures change and pushes
// it to the connected supervisor.
func TestSupervisorRunPushesBoardsOnChange(t *testing.T) {
	changes := make(chan struct{}, 1)
	srv, sup, _, _ := startSupervisor(t, changes)
	ws, _, err := dialSupervisor(srv, "sam:supervisor", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	c := &client{t: t, ws: ws}
	if hello := c.next(); hello.str("type") != agentui.FrameHello {
		t.Fatalf("hello = %v", hello)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	changes <- struct{}{}
	got := c.next()
	queues, _ := got["board"].(map[string]any)["queues"].([]any)
	if got.str("type") != agentui.FrameBoard || len(queues) != 1 || queues[0].(map[string]any)["waiting"] != float64(2) {
		t.Fatalf("after a change: %v, want the backend's board", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v after its context ended", err)
	}
}

func TestSupervisorPageIsServed(t *testing.T) {
	srv, _, _, _ := startSupervisor(t, nil)
	for path, want := range map[string]string{
		"/supervisor/":                 "Supervisor sign in",
		"/supervisor/js/supervisor.js": "textContent",
		"/supervisor/supervisor.css":   ".sv-gauge",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: %d, CSP %q", path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
	}
	if resp, _ := http.Get(srv.URL + "/supervisor/js/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("directory listing: %d", resp.StatusCode)
	}
}
