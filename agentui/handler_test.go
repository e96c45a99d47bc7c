package agentui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/agentui/internal/fakebackend"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/realtime"
)

// frame is any server frame, decoded loosely for assertions.
type frame map[string]any

func (f frame) str(k string) string { s, _ := f[k].(string); return s }

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func startServer(t *testing.T) (*httptest.Server, *fakebackend.Fake) {
	t.Helper()
	e, f, _ := newFakeConsole(t, nil)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, f
}

// sessionCookie signs in as id through the fake's login.
func sessionCookie(t *testing.T, f *fakebackend.Fake, id string) string {
	t.Helper()
	_, tok, _, ok := f.Login(id, id+"-password")
	if !ok {
		t.Fatalf("login %s failed", id)
	}
	return fakebackend.CookieName + "=" + tok
}

func dialAs(t *testing.T, srv *httptest.Server, f *fakebackend.Fake, id string) *client {
	t.Helper()
	h := http.Header{"Cookie": {sessionCookie(t, f, id)}, "Origin": {srv.URL}}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/agent/ws", h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial as %s: %v (status %d)", id, err, status)
	}
	t.Cleanup(func() { _ = ws.Close() })
	c := &client{t: t, ws: ws}
	if hello := c.next(); hello.str("type") != agentui.FrameHello {
		t.Fatalf("first frame = %v, want hello", hello)
	}
	return c
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) send(v map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	c.sendRaw(string(b))
}

func (c *client) next() frame {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("server frame %q is not JSON: %v", b, err)
	}
	return f
}

// until reads frames until one matches, returning it and those skipped.
func (c *client) until(match func(frame) bool) (frame, []frame) {
	c.t.Helper()
	var skipped []frame
	for i := 0; i < 50; i++ {
		f := c.next()
		if match(f) {
			return f, skipped
		}
		skipped = append(skipped, f)
	}
	c.t.Fatalf("no matching frame; got %v", skipped)
	return nil, nil
}

// request sends a frame with id and returns its ack and frames before it.
func (c *client) request(v map[string]any) (frame, []frame) {
	c.t.Helper()
	id := v["type"].(string) + "-1"
	v["id"] = id
	c.send(v)
	return c.until(func(f frame) bool { return f.str("type") == agentui.FrameAck && f.str("id") == id })
}

func mustOK(t *testing.T, ack frame) {
	t.Helper()
	if ack["ok"] != true {
		t.Fatalf("ack = %v, want ok", ack)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	srv, f := startServer(t)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/agent/ws"
	tests := []struct {
		desc   string
		header http.Header
		want   int
	}{
		{"no session", http.Header{"Origin": {srv.URL}}, http.StatusUnauthorized},
		{"unknown session", http.Header{"Origin": {srv.URL}, "Cookie": {fakebackend.CookieName + "=nope"}}, http.StatusUnauthorized},
		{"foreign origin", http.Header{"Origin": {"https://evil.example"}, "Cookie": {sessionCookie(t, f, "ana")}}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			ws, resp, err := websocket.DefaultDialer.Dial(url, tt.header)
			if err == nil {
				_ = ws.Close()
				t.Fatal("upgrade succeeded")
			}
			if resp == nil || resp.StatusCode != tt.want {
				t.Fatalf("status = %v, want %d", resp, tt.want)
			}
		})
	}
}

func TestOfferAcceptReplyClose(t *testing.T) {
	srv, f := startServer(t)
	f.StatusDelay = 10 * time.Millisecond
	ana := dialAs(t, srv, f, "ana")

	ack, _ := ana.request(map[string]any{"type": "state", "state": "available"})
	mustOK(t, ack)
	conv := f.Inbound("sms", "Maria Svensson", "<b>hi</b>", "ana")
	offer, _ := ana.until(func(fr frame) bool { return fr.str("type") == agentui.FrameOffer })
	if o := offer["offer"].(map[string]any); o["conv"] != conv || o["preview"] != "<b>hi</b>" || o["deadline"] == "" {
		t.Fatalf("offer = %v", offer)
	}

	ack, _ = ana.request(map[string]any{"type": "accept", "conv": conv})
	mustOK(t, ack)
	ack, _ = ana.request(map[string]any{"type": "resume", "conv": conv, "after_id": ""})
	mustOK(t, ack)
	msgs := ack["data"].(map[string]any)["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["text"] != "<b>hi</b>" {
		t.Fatalf("resume messages = %v", msgs)
	}
	last := msgs[1].(map[string]any)["id"].(string)

	// Live: the customer writes, the agent replies and sees its delivery.
	f.Inbound("sms", "Maria Svensson", "still there?", "")
	m, _ := ana.until(func(fr frame) bool { return fr.str("type") == agentui.FrameMessage })
	if m["message"].(map[string]any)["text"] != "still there?" {
		t.Fatalf("message frame = %v", m)
	}
	ack, _ = ana.request(map[string]any{"type": "reply", "conv": conv, "text": "yes!"})
	mustOK(t, ack)
	reply := ack["data"].(map[string]any)
	if reply["kind"] != desk.KindAgent || reply["status"] != desk.StatusQueued {
		t.Fatalf("reply = %v", reply)
	}
	st, _ := ana.until(func(fr frame) bool {
		return fr.str("type") == agentui.FrameMessageStatus && fr.str("status") == desk.StatusDelivered
	})
	if st.str("message_id") != reply["id"] {
		t.Fatalf("status frame = %v, want message %v", st, reply["id"])
	}

	// A resume after the last id returns only what came later.
	ack, _ = ana.request(map[string]any{"type": "resume", "conv": conv, "after_id": last})
	mustOK(t, ack)
	if got := len(ack["data"].(map[string]any)["messages"].([]any)); got != 2 {
		t.Fatalf("resume after %s: %d messages, want 2", last, got)
	}

	ack, _ = ana.request(map[string]any{"type": "close", "conv": conv, "disposition": "resolved"})
	mustOK(t, ack)
	if state, _, disp := f.ConvState(conv); state != "closed" || disp != "resolved" {
		t.Fatalf("conversation %s %s, want closed resolved", state, disp)
	}
}

func TestAgentCannotReachAnotherAgentsConversation(t *testing.T) {
	srv, f := startServer(t)
	ana := dialAs(t, srv, f, "ana")
	ben := dialAs(t, srv, f, "ben")
	ack, _ := ana.request(map[string]any{"type": "state", "state": "available"})
	mustOK(t, ack)
	conv := f.Inbound("chat", "Lea Park", "private", "ana")
	ack, _ = ana.request(map[string]any{"type": "accept", "conv": conv})
	mustOK(t, ack)

	for _, req := range []map[string]any{
		{"type": "resume", "conv": conv},
		{"type": "customer", "conv": conv},
		{"type": "reply", "conv": conv, "text": "hijack"},
		{"type": "note", "conv": conv, "text": "hijack"},
		{"type": "typing", "conv": conv, "on": true},
		{"type": "accept", "conv": conv},
		{"type": "close", "conv": conv},
		{"type": "transfer", "conv": conv, "queue": "billing"},
	} {
		ack, skipped := ben.request(req)
		if ack["ok"] != false || ack.str("code") != agentui.CodeForbidden {
			t.Errorf("%v: ack = %v, want forbidden", req["type"], ack)
		}
		for _, fr := range skipped {
			if fr.str("type") == agentui.FrameMessage {
				t.Errorf("ben received %v", fr)
			}
		}
	}
	for _, m := range f.Messages(conv) {
		if m.Text == "hijack" {
			t.Fatalf("ben's text reached the transcript: %v", m)
		}
	}
}

func TestBadFramesAreAnsweredNotFatal(t *testing.T) {
	srv, f := startServer(t)
	ana := dialAs(t, srv, f, "ana")
	tests := []struct {
		desc, raw, wantType, wantCode string
	}{
		{"not json", "hello there", agentui.FrameError, agentui.CodeBadFrame},
		{"json array", `[1,2]`, agentui.FrameError, agentui.CodeBadFrame},
		{"two objects", `{"type":"heartbeat","id":"a"}{"type":"heartbeat","id":"b"}`, agentui.FrameError, agentui.CodeBadFrame},
		{"no id", `{"type":"heartbeat"}`, agentui.FrameError, agentui.CodeBadFrame},
		{"oversized", `{"type":"reply","id":"x","conv":"c1","text":"` + strings.Repeat("a", 40<<10) + `"}`, agentui.FrameError, agentui.CodeTooLarge},
		{"unknown type", `{"type":"explode","id":"u"}`, agentui.FrameAck, agentui.CodeUnknownType},
		{"missing conv", `{"type":"accept","id":"m"}`, agentui.FrameAck, agentui.CodeInvalid},
		{"bad state", `{"type":"state","id":"s","state":"asleep"}`, agentui.FrameAck, agentui.CodeInvalid},
		{"empty reply", `{"type":"reply","id":"r","conv":"c1","text":"  "}`, agentui.FrameAck, agentui.CodeInvalid},
		{"wrong field type", `{"type":"typing","id":"t","conv":"c1","on":"yes"}`, agentui.FrameError, agentui.CodeBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			ana.sendRaw(tt.raw)
			got := ana.next()
			if got.str("type") != tt.wantType || got.str("code") != tt.wantCode {
				t.Fatalf("answer = %v, want %s %s", got, tt.wantType, tt.wantCode)
			}
		})
	}
	// The connection is still fine.
	ack, _ := ana.request(map[string]any{"type": "heartbeat"})
	mustOK(t, ack)
}

func TestDirectoryLeavesOutTheAgent(t *testing.T) {
	srv, f := startServer(t)
	ana := dialAs(t, srv, f, "ana")
	ack, _ := ana.request(map[string]any{"type": "directory"})
	mustOK(t, ack)
	d := ack["data"].(map[string]any)
	agents := d["agents"].([]any)
	if len(agents) != 1 || agents[0].(map[string]any)["id"] != "ben" {
		t.Fatalf("agents = %v, want only ben", agents)
	}
	if len(d["queues"].([]any)) == 0 || len(d["canned"].([]any)) == 0 {
		t.Fatalf("directory = %v", d)
	}
}

func TestStaticFiles(t *testing.T) {
	srv, _ := startServer(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(srv.URL + "/agent")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/agent/" {
		t.Fatalf("/agent: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for path, ctype := range map[string]string{
		"/agent/":            "text/html",
		"/agent/console.css": "text/css",
		"/agent/js/main.js":  "javascript",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), ctype) || len(body) == 0 {
			t.Errorf("%s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		// A second fetch with the ETag costs no body.
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		again, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		again.Body.Close()
		if resp.Header.Get("ETag") == "" || again.StatusCode != http.StatusNotModified {
			t.Errorf("%s: ETag %q, revalidation %d", path, resp.Header.Get("ETag"), again.StatusCode)
		}
	}
	for _, path := range []string{"/agent/js/", "/agent/nope.js", "/agent/../go.mod"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestFrameHelpers(t *testing.T) {
	at := time.Date(2026, 11, 22, 19, 0, 0, 0, time.UTC)
	tests := []struct {
		desc  string
		frame []byte
		want  map[string]any
	}{
		{"offer", agentui.OfferFrame(desk.Offer{ConversationID: "c1", Channel: "sms", Deadline: at}),
			map[string]any{"type": "offer"}},
		{"revoked", agentui.OfferRevokedFrame("c1", agentui.RevokedTimeout),
			map[string]any{"type": "offer_revoked", "conv": "c1", "reason": "timeout"}},
		{"unassigned", agentui.UnassignedFrame("c1", "transferred"),
			map[string]any{"type": "unassigned", "conv": "c1", "reason": "transferred"}},
		{"assigned", agentui.AssignedFrame(desk.Conversation{ID: "c1"}), map[string]any{"type": "assigned"}},
		{"state", agentui.StateFrame(desk.AgentState{State: "away", Reason: "Lunch", Since: at}),
			map[string]any{"type": "state", "state": "away", "reason": "Lunch", "since": "2026-11-22T19:00:00Z"}},
		{"message", agentui.MessageFrame(desk.Message{ID: "1-1", Text: "<script>"}), map[string]any{"type": "message"}},
		{"status", agentui.MessageStatusFrame("c1", "1-1", desk.StatusFailed, "blocked"),
			map[string]any{"type": "message_status", "conv": "c1", "message_id": "1-1", "status": "failed", "error": "blocked"}},
		{"typing", agentui.TypingFrame("c1", "customer", "Maria", true),
			map[string]any{"type": "typing", "conv": "c1", "who": "customer", "name": "Maria", "on": true}},
		{"closed", agentui.ConversationClosedFrame("c1", "customer", "", at),
			map[string]any{"type": "conversation_closed", "conv": "c1", "by": "customer", "at": "2026-11-22T19:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var got map[string]any
			if err := json.Unmarshal(tt.frame, &got); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (frame %s)", k, got[k], v, tt.frame)
				}
			}
		})
	}
}

func TestAssignedConversationsAreLiveAfterReconnect(t *testing.T) {
	srv, f := startServer(t)
	ana := dialAs(t, srv, f, "ana")
	ack, _ := ana.request(map[string]any{"type": "state", "state": "available"})
	mustOK(t, ack)
	conv := f.Inbound("email", "Jonas Berg", "first", "ana")
	ack, _ = ana.request(map[string]any{"type": "accept", "conv": conv})
	mustOK(t, ack)
	_ = ana.ws.Close()

	// A new connection hears the conversation without asking for it.
	again := dialAs(t, srv, f, "ana")
	f.Inbound("email", "Jonas Berg", "second", "")
	m, _ := again.until(func(fr frame) bool { return fr.str("type") == agentui.FrameMessage })
	if m["message"].(map[string]any)["text"] != "second" {
		t.Fatalf("message = %v", m)
	}
}

func TestTransferToAgentOffersIt(t *testing.T) {
	srv, f := startServer(t)
	ana := dialAs(t, srv, f, "ana")
	ben := dialAs(t, srv, f, "ben")
	ack, _ := ana.request(map[string]any{"type": "state", "state": "available"})
	mustOK(t, ack)
	conv := f.Inbound("chat", "Lea Park", "billing question", "ana")
	ack, _ = ana.request(map[string]any{"type": "accept", "conv": conv})
	mustOK(t, ack)
	ack, _ = ana.request(map[string]any{"type": "transfer", "conv": conv, "agent": "ben"})
	mustOK(t, ack)
	offer, _ := ben.until(func(fr frame) bool { return fr.str("type") == agentui.FrameOffer })
	if offer["offer"].(map[string]any)["conv"] != conv {
		t.Fatalf("ben's offer = %v", offer)
	}
	// Ana left the conversation: her reply is refused.
	ack, _ = ana.request(map[string]any{"type": "reply", "conv": conv, "text": "still mine?"})
	if ack["ok"] != false || ack.str("code") != agentui.CodeForbidden {
		t.Fatalf("reply after transfer: %v", ack)
	}
	ack, _ = ben.request(map[string]any{"type": "accept", "conv": conv})
	mustOK(t, ack)
}

func TestFrameFloodIsLimited(t *testing.T) {
	srv, f := startServer(t)
	ana := dialAs(t, srv, f, "ana")
	const n = 150 // well over the burst of 60
	for i := 0; i < n; i++ {
		ana.send(map[string]any{"type": "heartbeat", "id": "h"})
	}
	limited := 0
	for i := 0; i < n; i++ {
		if fr := ana.next(); fr.str("code") == agentui.CodeRateLimited {
			limited++
		}
	}
	if limited == 0 || limited == n {
		t.Fatalf("%d of %d frames limited, want some", limited, n)
	}
	// The bucket refills; the connection was never dropped.
	time.Sleep(200 * time.Millisecond)
	ack, _ := ana.request(map[string]any{"type": "heartbeat"})
	mustOK(t, ack)
}

// brokenSnapshot is a core that cannot read the agent's state.
type brokenSnapshot struct{ *fakebackend.Fake }

func (brokenSnapshot) Snapshot(context.Context, desk.Actor) (desk.Snapshot, error) {
	return desk.Snapshot{}, errors.New("redis: connection refused")
}

func TestSnapshotFailureClosesForRetry(t *testing.T) {
	hub, err := realtime.New(realtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })
	f := fakebackend.New(hub)
	h, err := agentui.New(agentui.Config{Backend: brokenSnapshot{f}, Hub: hub, Authenticate: f.Authenticate})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	hd := http.Header{"Cookie": {sessionCookie(t, f, "ana")}}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/agent/ws", hd)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != realtime.CloseInternalError {
		t.Fatalf("got %q, %v; want close 1011", msg, err)
	}
	if strings.Contains(ce.Text, "redis") {
		t.Fatalf("close reason %q leaks the internal error", ce.Text)
	}
}

// Issue 11 items 7 and 8: before the upgrade, a console or supervisor
// websocket is answered 401 only when the request is not signed in; when
// the session cannot be checked (Redis down) it is 503, so the console
// keeps its session and retries; an API token, which has no console, gets
// a clean 403 instead of a socket closed with 1011.
func TestWebsocketAuthAnswers(t *testing.T) {
	hub, err := realtime.New(realtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })
	f := fakebackend.New(hub)
	var answer func() (desk.Actor, error)
	h, err := agentui.New(agentui.Config{Backend: f, Hub: hub,
		Authenticate: func(*http.Request) (desk.Actor, error) { return answer() }})
	if err != nil {
		t.Fatal(err)
	}
	sup, err := agentui.NewSupervisor(agentui.SupervisorConfig{Backend: &fakeSupervisor{}, Console: h})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	sup.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	cases := []struct {
		desc   string
		answer func() (desk.Actor, error)
		code   int
	}{
		{"not signed in", func() (desk.Actor, error) {
			return desk.Actor{}, fmt.Errorf("%w: session expired", agentui.ErrUnauthenticated)
		}, http.StatusUnauthorized},
		{"session store down", func() (desk.Actor, error) {
			return desk.Actor{}, errors.New("auth: session: dial tcp 127.0.0.1:6379: connect: connection refused")
		}, http.StatusServiceUnavailable},
		{"API token", func() (desk.Actor, error) {
			return desk.Actor{AccountID: "token:crm", Name: "crm", Role: "admin", Token: true}, nil
		}, http.StatusForbidden},
	}
	for _, tc := range cases {
		answer = tc.answer
		for _, path := range []string{"/agent/ws", "/supervisor/ws"} {
			ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+path, nil)
			if err == nil {
				ws.Close()
				t.Fatalf("%s %s: upgraded", tc.desc, path)
			}
			if resp == nil || resp.StatusCode != tc.code {
				t.Fatalf("%s %s: %v %v, want %d", tc.desc, path, resp, err, tc.code)
			}
			if b, _ := io.ReadAll(resp.Body); strings.Contains(string(b), "6379") {
				t.Fatalf("%s %s: answer leaks the store's address: %s", tc.desc, path, b)
			}
		}
	}
}

// TestLongTranscriptResumesInPages: 90 chat messages of 2,000 "<" encode
// to over 1 MiB (JSON escapes "<" to six bytes), past the socket's send
// cap. Resume answers pages under the cap, the console stays connected,
// and following next while more is set reaches every message once.
func TestLongTranscriptResumesInPages(t *testing.T) {
	srv, f := startServer(t)
	ana := dialAs(t, srv, f, "ana")
	mustOK(t, first(ana.request(map[string]any{"type": "state", "state": "available"})))
	text := strings.Repeat("<", 2000)
	conv := f.Inbound("chat", "Mallory Long", "first", "ana")
	ana.until(func(fr frame) bool { return fr.str("type") == agentui.FrameOffer })
	mustOK(t, first(ana.request(map[string]any{"type": "accept", "conv": conv})))
	for i := 0; i < 90; i++ {
		line := fmt.Sprintf("%03d %s", i, text)
		f.Inbound("chat", "Mallory Long", line, "")
		// The console takes each line as it comes, as a browser does: 90
		// pushed without a read would pass the send cap themselves.
		ana.until(func(fr frame) bool {
			m, _ := fr["message"].(map[string]any)
			return fr.str("type") == agentui.FrameMessage && m["text"] == line
		})
	}
	seen, numbered := map[string]bool{}, 0
	after, pages := "", 0
	for {
		pages++
		id := fmt.Sprintf("resume-%d", pages)
		ana.send(map[string]any{"type": "resume", "id": id, "conv": conv, "after_id": after})
		_ = ana.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		var ack frame
		for ack == nil {
			_, b, err := ana.ws.ReadMessage()
			if err != nil {
				t.Fatalf("page %d: the console was disconnected: %v", pages, err)
			}
			if len(b) > 600<<10 {
				t.Fatalf("page %d: a frame of %d bytes", pages, len(b))
			}
			var fr frame
			if err := json.Unmarshal(b, &fr); err != nil {
				t.Fatal(err)
			}
			if fr.str("type") == agentui.FrameAck && fr.str("id") == id {
				ack = fr
			}
		}
		mustOK(t, ack)
		data := ack["data"].(map[string]any)
		for _, m := range data["messages"].([]any) {
			mid := m.(map[string]any)["id"].(string)
			if seen[mid] {
				t.Fatalf("message %s on two pages", mid)
			}
			seen[mid] = true
			if strings.HasSuffix(m.(map[string]any)["text"].(string), text) {
				numbered++
			}
		}
		if data["more"] != true {
			break
		}
		after = data["next"].(string)
		if pages > 50 {
			t.Fatal("paging does not end")
		}
	}
	if numbered != 90 || pages < 3 {
		t.Fatalf("%d long messages in %d pages, want 90 in several", numbered, pages)
	}
	// Still connected and subscribed: a new line arrives live.
	f.Inbound("chat", "Mallory Long", "still there?", "")
	ana.until(func(fr frame) bool {
		m, _ := fr["message"].(map[string]any)
		return fr.str("type") == agentui.FrameMessage && m["text"] == "still there?"
	})
}

func first(f frame, _ []frame) frame { return f }
