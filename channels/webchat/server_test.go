package webchat

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

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/realtime"
)

type harness struct {
	srv     *Server
	hub     *realtime.Hub
	backend *fakeBackend
	http    *httptest.Server
	wsURL   string
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
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
	b := newFakeBackend()
	cfg := Config{SiteName: "Acme", TokenSecret: testSecret, MaxMessageLength: 50, PositionEvery: 10 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg, b, Deps{Hub: hub, Visitors: b, Places: b, Typing: b, Contacts: b, Availability: b})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &harness{srv: srv, hub: hub, backend: b, http: hs, wsURL: "ws" + strings.TrimPrefix(hs.URL, "http") + PathSocket}
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (h *harness) dial(t *testing.T) *client {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(h.wsURL, http.Header{"Origin": {h.http.URL}})
	if err != nil {
		t.Fatalf("dial: %v (response %v)", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

func (c *client) send(v any) {
	c.t.Helper()
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	default:
		b, _ = json.Marshal(v)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// frame reads the next frame.
func (c *client) frame() map[string]any {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("frame %q: %v", data, err)
	}
	return f
}

// await reads frames until one of type typ, skipping queue updates and
// other frames a test is not about.
func (c *client) await(typ string) map[string]any {
	c.t.Helper()
	for range 50 {
		f := c.frame()
		if f["type"] == typ {
			return f
		}
	}
	c.t.Fatalf("no %s frame", typ)
	return nil
}

// closeCode reads until the server closes and returns its code.
func (c *client) closeCode() int {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			c.t.Fatalf("read: %v, want a close frame", err)
		}
	}
}

// hello greets as a new visitor (token "") or a known one and returns the
// welcome.
func (c *client) hello(token string, extra map[string]any) map[string]any {
	c.t.Helper()
	f := map[string]any{"type": "hello", "queue": "support", "session": "s_test1234"}
	if token != "" {
		f["token"] = token
	}
	for k, v := range extra {
		f[k] = v
	}
	c.send(f)
	return c.await("welcome")
}

func TestHelloThenMessageReachesReceiver(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.dial(t)
	w := c.hello("", map[string]any{"name": "Wile E.", "email": "wile@example.com"})
	token, _ := w["visitor_token"].(string)
	visitor, err := h.srv.tokens.Verify(token)
	if err != nil || visitor != w["visitor"] {
		t.Fatalf("welcome token %q: visitor %q, %v; welcome says %v", token, visitor, err, w["visitor"])
	}
	if w["site"] != "Acme" || w["max_length"] != float64(50) || w["conversation"] != nil {
		t.Fatalf("welcome %v", w)
	}

	c.send(map[string]any{"type": "message", "id": "f_00000001", "text": "  Where is my anvil?  "})
	echo := c.await("message")
	want := channel.Inbound{Channel: channel.Chat, From: visitor, To: "support", Name: "Wile E.",
		Text: "Where is my anvil?", ProviderID: visitor + ":f_00000001", ThreadHint: "s_test1234"}
	got := h.backend.lastInbound()
	got.ReceivedAt = time.Time{}
	if got.Channel != want.Channel || got.From != want.From || got.To != want.To || got.Name != want.Name ||
		got.Text != want.Text || got.ProviderID != want.ProviderID || got.ThreadHint != want.ThreadHint {
		t.Fatalf("inbound\n got %+v\nwant %+v", got, want)
	}
	if echo["from"] != "customer" || echo["frame_id"] != "f_00000001" || echo["id"] != "m_2" || echo["conversation"] != "cv_1" {
		t.Fatalf("echo %v", echo)
	}
	q := c.await("queue")
	est, _ := q["estimate"].(map[string]any)
	if q["position"] != float64(2) || est["low"] != float64(180) || est["high"] != float64(300) {
		t.Fatalf("queue frame %v", q)
	}
	h.backend.mu.Lock()
	contacts := h.backend.contacts
	h.backend.mu.Unlock()
	if len(contacts) != 1 || contacts[0] != "cu_"+visitor+"|Wile E.|wile@example.com" {
		t.Fatalf("contacts %v", contacts)
	}

	// A still queue costs no reads, however long the visitor waits.
	h.backend.mu.Lock()
	h.backend.positionReads = 0
	h.backend.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	h.backend.mu.Lock()
	reads := h.backend.positionReads
	h.backend.mu.Unlock()
	if reads != 0 {
		t.Fatalf("%d place reads while the queue was still", reads)
	}
	// When the queue moves, the visitor hears of the new place and of the
	// estimate going away; a burst of changes costs few reads.
	h.backend.mu.Lock()
	h.backend.position, h.backend.estOK = 1, false
	h.backend.mu.Unlock()
	for range 50 {
		if err := h.srv.QueueChanged(context.Background(), "", "support"); err != nil {
			t.Fatal(err)
		}
	}
	q = c.await("queue")
	if q["position"] != float64(1) || q["estimate"] != nil {
		t.Fatalf("queue frame after a move %v", q)
	}
	h.backend.mu.Lock()
	reads = h.backend.positionReads
	h.backend.mu.Unlock()
	if reads < 1 || reads > 3 {
		t.Fatalf("%d place reads for a burst of 50 changes; want them folded into one or two", reads)
	}
}

func TestResendAfterReconnectIsStoredOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c1 := h.dial(t)
	token := c1.hello("", nil)["visitor_token"].(string)
	c1.send(map[string]any{"type": "message", "id": "f_first001", "text": "one"})
	first := c1.await("message")
	// The socket dies before the widget saw the next acknowledgement.
	c1.send(map[string]any{"type": "message", "id": "f_second01", "text": "two"})
	c1.ws.Close()
	// Once the hub let go of the first socket, its reader has handled every
	// frame that arrived: "two" is stored or never will be.
	for deadline := time.Now().Add(5 * time.Second); h.hub.Len() > 0; {
		if time.Now().After(deadline) {
			t.Fatal("first socket never closed")
		}
		time.Sleep(5 * time.Millisecond)
	}

	c2 := h.dial(t)
	w := c2.hello(token, map[string]any{"type": "resume", "conversation": first["conversation"], "after": "2-0"})
	conv, _ := w["conversation"].(map[string]any)
	if conv["id"] != "cv_1" || conv["state"] != "queued" {
		t.Fatalf("welcome on resume %v", w)
	}
	// The backlog after cursor 2-0 holds "two" if the first socket got it
	// in; then the resend is answered with the stored message.
	stored := h.backend.storedCount()
	c2.send(map[string]any{"type": "message", "id": "f_second01", "text": "two"})
	var seen []map[string]any
	for len(seen) < stored {
		f := c2.await("message")
		seen = append(seen, f)
	}
	if n := h.backend.storedCount(); n != 2 {
		t.Fatalf("stored %d messages, want 2 (the resend must be deduplicated)", n)
	}
	ids := map[any]int{}
	for _, f := range seen {
		ids[f["id"]]++
		if f["frame_id"] != "f_second01" {
			t.Fatalf("unexpected message %v", f)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("the resent message came back with different ids: %v", seen)
	}

	// A fresh page (no cursor) gets the whole conversation once.
	c3 := h.dial(t)
	c3.hello(token, map[string]any{"type": "resume"})
	var texts []string
	for range 2 {
		f := c3.await("message")
		if f["resumed"] != true {
			t.Fatalf("backlog frame not marked resumed: %v", f)
		}
		texts = append(texts, f["text"].(string))
	}
	if strings.Join(texts, ",") != "one,two" {
		t.Fatalf("backlog %v", texts)
	}
}

func TestOversizedAndGarbageFramesGetErrorFrames(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.dial(t)
	c.hello("", nil)

	cases := []struct {
		desc  string
		frame any
		code  string
	}{
		{desc: "text over the limit", frame: map[string]any{"type": "message", "id": "f_toolong1", "text": strings.Repeat("é", 51)}, code: ErrCodeTooLarge},
		{desc: "frame over the limit", frame: `{"type":"message","id":"f_toolong2","text":"` + strings.Repeat("a", 5000) + `"}`, code: ErrCodeTooLarge},
		{desc: "not JSON", frame: "hello there", code: ErrCodeBadFrame},
		{desc: "JSON array", frame: "[1,2,3]", code: ErrCodeBadFrame},
		{desc: "unknown type", frame: map[string]any{"type": "shout"}, code: ErrCodeBadFrame},
		{desc: "unknown field", frame: map[string]any{"type": "typing", "admin": true}, code: ErrCodeBadFrame},
		{desc: "bad frame id", frame: map[string]any{"type": "message", "id": "../../etc", "text": "x"}, code: ErrCodeBadFrame},
		{desc: "empty text", frame: map[string]any{"type": "message", "id": "f_empty001", "text": "   "}, code: ErrCodeBadFrame},
		{desc: "two objects", frame: `{"type":"end"}{"type":"end"}`, code: ErrCodeBadFrame},
	}
	for _, tc := range cases {
		c.send(tc.frame)
		f := c.await("error")
		if f["code"] != tc.code {
			t.Errorf("%s: error %v, want code %s", tc.desc, f, tc.code)
		}
	}
	if n := h.backend.storedCount(); n != 0 {
		t.Fatalf("%d messages stored from refused frames", n)
	}
	// Exactly at the limit is fine, and the socket survived the above.
	c.send(map[string]any{"type": "message", "id": "f_justfits", "text": strings.Repeat("é", 50)})
	if f := c.await("message"); f["frame_id"] != "f_justfits" {
		t.Fatalf("message at the limit: %v", f)
	}
	c.send(map[string]any{"type": "message", "id": "f_toolong3", "text": strings.Repeat("x", 60)})
	f := c.await("error")
	if f["limit"] != float64(50) || f["frame_id"] != "f_toolong3" {
		t.Fatalf("too_large error %v", f)
	}
}

func TestTooManyBadFramesClose(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.dial(t)
	for range maxBadFrames {
		c.send("garbage")
	}
	if code := c.closeCode(); code != realtime.CloseBadMessage {
		t.Fatalf("close code %d, want %d", code, realtime.CloseBadMessage)
	}
}

func TestBadTokensAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	good, _ := h.srv.tokens.Sign(NewVisitorID())
	old, _ := NewTokens(testSecret, time.Hour, func() time.Time { return time.Now().Add(-365 * 24 * time.Hour) })
	expired, _ := old.Sign(NewVisitorID())
	cases := []struct {
		desc  string
		frame map[string]any
		code  string
	}{
		{desc: "tampered", frame: map[string]any{"type": "hello", "token": good[:len(good)-2] + "xx"}, code: ErrCodeUnauthorized},
		{desc: "garbage", frame: map[string]any{"type": "hello", "token": "not-a-token"}, code: ErrCodeUnauthorized},
		{desc: "expired", frame: map[string]any{"type": "hello", "token": expired}, code: ErrCodeExpired},
		{desc: "resume without token", frame: map[string]any{"type": "resume"}, code: ErrCodeUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			c := h.dial(t)
			c.send(tc.frame)
			if f := c.await("error"); f["code"] != tc.code {
				t.Fatalf("error %v, want %s", f, tc.code)
			}
			if code := c.closeCode(); code != realtime.CloseUnauthorized {
				t.Fatalf("close code %d, want 4401", code)
			}
		})
	}
	t.Run("message before hello", func(t *testing.T) {
		c := h.dial(t)
		c.send(map[string]any{"type": "message", "id": "f_early001", "text": "hi"})
		if f := c.await("error"); f["code"] != ErrCodeNotReady {
			t.Fatalf("error %v", f)
		}
		if h.backend.storedCount() != 0 {
			t.Fatal("message stored before hello")
		}
	})
}

func TestHelloTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.HelloTimeout = 100 * time.Millisecond })
	c := h.dial(t)
	if code := c.closeCode(); code != realtime.CloseUnauthorized {
		t.Fatalf("close code %d, want 4401", code)
	}
}

func TestTokenOpensOnlyItsOwnConversation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a := h.dial(t)
	a.hello("", nil)
	a.send(map[string]any{"type": "message", "id": "f_secret01", "text": "my card is 4111"})
	convA := a.await("message")["conversation"]

	b := h.dial(t)
	w := b.hello("", map[string]any{})
	tokenB := w["visitor_token"].(string)
	b2 := h.dial(t)
	w = b2.hello(tokenB, map[string]any{"type": "resume", "conversation": convA})
	if w["conversation"] != nil {
		t.Fatalf("visitor B resumed A's conversation: %v", w)
	}
	// Nothing of A's arrives on B's socket, even live.
	h.backend.agentReply(convA.(string), "Ana", "for A only")
	if _, err := h.srv.Send(context.Background(), channel.Outbound{ConversationID: convA.(string), MessageID: "m_x", Text: "for A only"}); err != nil {
		t.Fatal(err)
	}
	if f := a.await("message"); f["text"] != "for A only" {
		t.Fatalf("A got %v", f)
	}
	_ = b2.ws.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, data, err := b2.ws.ReadMessage(); err == nil {
		t.Fatalf("B received %s", data)
	}
}

func TestAgentSideHelpers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.dial(t)
	c.hello("", nil)
	c.send(map[string]any{"type": "message", "id": "f_helpme01", "text": "help"})
	conv := c.await("message")["conversation"].(string)
	c.await("queue") // the place in line, before the agent takes the chat
	ctx := context.Background()

	h.backend.accept(conv, "Ana")
	if err := h.srv.AgentJoined(ctx, conv, "Ana"); err != nil {
		t.Fatal(err)
	}
	if f := c.await("agent_joined"); f["name"] != "Ana" {
		t.Fatalf("agent_joined %v", f)
	}
	if err := h.srv.AgentTyping(ctx, conv, "Ana", true); err != nil {
		t.Fatal(err)
	}
	if f := c.await("typing"); f["typing"] != true || f["name"] != "Ana" {
		t.Fatalf("typing %v", f)
	}
	out := h.backend.agentReply(conv, "Ana", "<img src=x onerror=alert(1)> hello")
	res, err := h.srv.Send(ctx, out)
	if err != nil || res.ProviderID != out.MessageID {
		t.Fatalf("Send: %+v, %v", res, err)
	}
	if f := c.await("message"); f["from"] != "agent" || f["text"] != out.Text || f["id"] != out.MessageID {
		t.Fatalf("agent message %v", f)
	}
	if err := h.srv.QueuePosition(ctx, conv, 3, time.Minute, 2*time.Minute, true); err != nil {
		t.Fatal(err)
	}
	if f := c.await("queue"); f["position"] != float64(3) {
		t.Fatalf("queue %v", f)
	}

	c.send(map[string]any{"type": "typing", "typing": true})
	c.send(map[string]any{"type": "typing", "typing": true}) // within 2 s: not passed on
	c.send(map[string]any{"type": "typing", "typing": false})
	c.send(map[string]any{"type": "end"})
	if f := c.await("closed"); f["reason"] != ClosedByCustomer {
		t.Fatalf("closed %v", f)
	}
	h.backend.mu.Lock()
	typing, ended := h.backend.typing, h.backend.ended
	h.backend.mu.Unlock()
	if len(typing) != 2 || !typing[0] || typing[1] {
		t.Fatalf("customer typing passed on as %v, want [true false]", typing)
	}
	if len(ended) != 1 || ended[0] != conv {
		t.Fatalf("ended %v", ended)
	}
	c.send(map[string]any{"type": "end"})
	if f := c.await("error"); f["code"] != ErrCodeNoChat {
		t.Fatalf("second end: %v", f)
	}

	if _, err := h.srv.Send(ctx, channel.Outbound{Channel: channel.SMS, ConversationID: conv, MessageID: "m"}); err == nil {
		t.Fatal("Send took an SMS")
	}
}

func TestSendWithNobodyListeningSucceeds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	res, err := h.srv.Send(context.Background(), channel.Outbound{ConversationID: "cv_gone", MessageID: "m_1", Text: "hi"})
	if err != nil || res.Status != "sent" {
		t.Fatalf("Send: %+v, %v", res, err)
	}
	_, err = h.srv.Send(context.Background(), channel.Outbound{ConversationID: "has space", MessageID: "m_2", Text: "hi"})
	var pe *channel.PermanentError
	if !errors.As(err, &pe) {
		t.Fatalf("Send to a malformed conversation id: %v, want a permanent error", err)
	}
}

func TestClosedChatOnResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.dial(t)
	token := c.hello("", nil)["visitor_token"].(string)
	c.send(map[string]any{"type": "message", "id": "f_bye00001", "text": "bye"})
	conv := c.await("message")["conversation"].(string)
	if err := h.backend.CustomerEnded(context.Background(), conv); err != nil {
		t.Fatal(err)
	}
	c.ws.Close()

	back := h.dial(t)
	w := back.hello(token, map[string]any{"type": "resume", "conversation": conv, "after": "9-0"})
	if got := w["conversation"].(map[string]any); got["state"] != "closed" {
		t.Fatalf("welcome %v", w)
	}
	if f := back.await("closed"); f["conversation"] != conv {
		t.Fatalf("closed %v", f)
	}
	fresh := h.dial(t)
	if w := fresh.hello(token, map[string]any{"type": "resume"}); w["conversation"] != nil {
		t.Fatalf("a fresh page was shown the closed chat: %v", w)
	}
}

func TestOrigins(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc    string
		allowed []string
		origin  string
		want    int
	}{
		{desc: "same origin by default", origin: "SELF", want: http.StatusSwitchingProtocols},
		{desc: "other origin by default", origin: "https://evil.example", want: http.StatusForbidden},
		{desc: "listed origin", allowed: []string{"https://shop.example"}, origin: "https://shop.example", want: http.StatusSwitchingProtocols},
		{desc: "same origin with a list", allowed: []string{"https://shop.example"}, origin: "SELF", want: http.StatusSwitchingProtocols},
		{desc: "unlisted origin", allowed: []string{"https://shop.example"}, origin: "https://shop.example.evil", want: http.StatusForbidden},
		{desc: "wildcard", allowed: []string{"*"}, origin: "https://anyone.example", want: http.StatusSwitchingProtocols},
		{desc: "no origin (not a browser)", origin: "", want: http.StatusSwitchingProtocols},
		{desc: "malformed origin", origin: "::::", want: http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.AllowedOrigins = tc.allowed })
			hdr := http.Header{}
			switch tc.origin {
			case "SELF":
				hdr.Set("Origin", h.http.URL)
			case "":
			default:
				hdr.Set("Origin", tc.origin)
			}
			ws, resp, err := websocket.DefaultDialer.Dial(h.wsURL, hdr)
			if ws != nil {
				ws.Close()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

func TestWidgetAndDemoAreServed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.SiteName = "Acme </script><b>" })
	resp, err := http.Get(h.http.URL + PathWidget)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	js := string(body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("widget: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(js, configMarker) || !strings.Contains(js, `"maxLength":50`) ||
		!strings.Contains(js, `"site":"Acme \u003c/script\u003e\u003cb\u003e"`) {
		t.Fatal("widget.js config not written, or the site name was not escaped")
	}
	if strings.Contains(js, "innerHTML") || strings.Contains(js, "insertAdjacentHTML") {
		t.Fatal("widget.js must build its DOM without parsing HTML")
	}
	req, _ := http.NewRequest("GET", h.http.URL+PathWidget, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d", resp2.StatusCode)
	}
	resp3, err := http.Get(h.http.URL + PathDemo)
	if err != nil {
		t.Fatal(err)
	}
	demo, _ := io.ReadAll(resp3.Body)
	resp3.Body.Close()
	if !strings.Contains(string(demo), `<script src="/chat/widget.js" data-queue="support"`) {
		t.Fatal("demo page does not embed the widget")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	hub, _ := realtime.New(realtime.Config{})
	defer hub.Shutdown(context.Background())
	b := newFakeBackend()
	full := Deps{Hub: hub, Visitors: b}
	cases := []struct {
		desc string
		cfg  Config
		deps Deps
	}{
		{desc: "no secret", cfg: Config{}, deps: full},
		{desc: "no hub", cfg: Config{TokenSecret: testSecret}, deps: Deps{Visitors: b}},
		{desc: "no visitors", cfg: Config{TokenSecret: testSecret}, deps: Deps{Hub: hub}},
		{desc: "bad origin", cfg: Config{TokenSecret: testSecret, AllowedOrigins: []string{"shop.example"}}, deps: full},
		{desc: "bad queue", cfg: Config{TokenSecret: testSecret, DefaultQueue: "a b"}, deps: full},
	}
	for _, tc := range cases {
		if _, err := New(tc.cfg, b, tc.deps); err == nil {
			t.Errorf("%s: New succeeded", tc.desc)
		}
	}
}

func TestMessageRateLimit(t *testing.T) {
	t.Parallel()
	// A stopped clock: however slow this machine, no allowance comes back.
	stopped := time.Now()
	h := newHarness(t, func(c *Config) { c.Now = func() time.Time { return stopped } })
	c := h.dial(t)
	c.hello("", nil)
	for i := range messageBurst + 1 {
		c.send(map[string]any{"type": "message", "id": fmt.Sprintf("f_burst%03d", i), "text": "spam"})
	}
	f := c.await("error")
	if f["code"] != ErrCodeRateLimited || f["frame_id"] != fmt.Sprintf("f_burst%03d", messageBurst) {
		t.Fatalf("error %v", f)
	}
	if n := h.backend.storedCount(); n != messageBurst {
		t.Fatalf("stored %d, want %d", n, messageBurst)
	}
}

func TestResumeActiveChatAndSecondTab(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tab1 := h.dial(t)
	token := tab1.hello("", nil)["visitor_token"].(string)
	h.backend.mu.Lock()
	reads := h.backend.currentReads
	h.backend.mu.Unlock()
	if reads != 0 {
		t.Fatalf("looked up the conversation of a visitor just made %d times", reads)
	}
	tab1.send(map[string]any{"type": "message", "id": "f_tabone01", "text": "from tab one"})
	conv := tab1.await("message")["conversation"].(string)
	h.backend.accept(conv, "Ana")

	// A second tab of the same visitor resumes the active chat: backlog,
	// then who is serving it.
	tab2 := h.dial(t)
	w := tab2.hello(token, map[string]any{"type": "resume"})
	if got := w["conversation"].(map[string]any); got["id"] != conv || got["state"] != "active" {
		t.Fatalf("welcome %v", w)
	}
	if f := tab2.await("message"); f["text"] != "from tab one" || f["frame_id"] != "f_tabone01" {
		t.Fatalf("backlog %v", f)
	}
	if f := tab2.await("agent_joined"); f["name"] != "Ana" {
		t.Fatalf("agent_joined %v", f)
	}
	// What one tab writes shows in the other.
	tab2.send(map[string]any{"type": "message", "id": "f_tabtwo01", "text": "from tab two"})
	for _, c := range []*client{tab1, tab2} {
		if f := c.await("message"); f["text"] != "from tab two" {
			t.Fatalf("echo %v", f)
		}
	}
	if n := h.backend.storedCount(); n != 2 {
		t.Fatalf("stored %d, want 2", n)
	}
}

func TestReceiverFailureIsRetryable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.dial(t)
	c.hello("", nil)
	h.backend.mu.Lock()
	h.backend.failNext = errors.New("redis: connection refused")
	h.backend.mu.Unlock()
	c.send(map[string]any{"type": "message", "id": "f_retry001", "text": "first try"})
	if f := c.await("error"); f["code"] != ErrCodeUnavailable || f["frame_id"] != "f_retry001" {
		t.Fatalf("error %v", f)
	}
	c.send(map[string]any{"type": "message", "id": "f_retry001", "text": "first try"})
	if f := c.await("message"); f["frame_id"] != "f_retry001" {
		t.Fatalf("retry %v", f)
	}
	h.backend.mu.Lock()
	h.backend.failNext = fmt.Errorf("conversation: receive: %w", conversation.ErrInvalid)
	h.backend.mu.Unlock()
	c.send(map[string]any{"type": "message", "id": "f_invalid1", "text": "bad"})
	if f := c.await("error"); f["code"] != ErrCodeRejected {
		t.Fatalf("error %v", f)
	}
}
