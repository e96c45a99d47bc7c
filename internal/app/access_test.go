package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

// TestLostAccessEndsTheLiveFeed: an agent's consoles, on this gateway and
// on another, stop receiving a conversation the moment the agent loses it,
// whoever takes it away: a supervisor's reassign, a supervisor's transfer,
// a supervisor setting the agent away while it is offered, a decline on
// the agent's other console, a supervisor's close. Each time the
// customer's next line (or a supervisor's note) reaches a supervisor who
// watches the conversation, and neither of the agent's consoles.
func TestLostAccessEndsTheLiveFeed(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	env := map[string]string{
		"REDIS_URL": srv.URL(), "SWITCHBOARD_PUBLIC_URL": publicURL,
		"TWILIO_ACCOUNT_SID": creds.AccountSID, "TWILIO_AUTH_TOKEN": creds.AuthToken, "TWILIO_API_BASE_URL": fake.URL,
		"SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1",
	}
	base1 := start(t, env)
	env2 := map[string]string{}
	for k, v := range env {
		env2[k] = v
	}
	base2 := start(t, env2)

	ctx := context.Background()
	authSvc, err := auth.New(auth.Config{Redis: srv.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []auth.Account{
		{ID: "a01", Name: "Ana Lima", Role: auth.RoleAgent},
		{ID: "a02", Name: "Ben Okafor", Role: auth.RoleAgent},
		{ID: "sup", Name: "Sam Supervisor", Role: auth.RoleSupervisor},
	} {
		if err := authSvc.CreateAccount(ctx, a, a.ID+"-password-1"); err != nil {
			t.Fatal(err)
		}
	}
	a02Cookies := login(t, base1, "a02", "a02-password-1")
	here := dialLive(t, base1, "/agent/ws", a02Cookies)  // a02's console on gateway 1
	there := dialLive(t, base2, "/agent/ws", a02Cookies) // a02's second console, on gateway 2
	a01 := dialLive(t, base1, "/agent/ws", login(t, base1, "a01", "a01-password-1"))
	supCookies := login(t, base2, "sup", "sup-password-1")
	csrf := csrfToken(t, base2, supCookies)
	sup := dialLive(t, base1, "/supervisor/ws", supCookies)
	a01.ack(a01.send("state", map[string]any{"state": "away", "reason": "later"}))

	const ours = "+15550001111"
	sid := 0
	sms := func(from, text string) {
		t.Helper()
		form := twiliotest.InboundSMS(creds.AccountSID, from, ours, text)
		sid++
		form.Set("MessageSid", fmt.Sprintf("SM%032x", sid))
		req, _ := http.NewRequest(http.MethodPost, base2+"/twilio/sms", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilioapi.Sign(creds.AuthToken, publicURL+"/twilio/sms", form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("inbound webhook: %d", resp.StatusCode)
		}
	}
	// offered makes customer from write, offers the conversation to a02
	// and has both of a02's consoles follow it; accept takes it on the
	// first.
	offered := func(from string, accept bool) string {
		t.Helper()
		here.ack(here.send("state", map[string]any{"state": "available"}))
		sms(from, "hello from "+from)
		conv := here.next("offer", ofType("offer"))["offer"].(map[string]any)["conv"].(string)
		there.next("offer on the second console", ofType("offer"))
		if accept {
			here.ack(here.send("accept", map[string]any{"conv": conv}))
			there.next("assigned", ofType("assigned"))
		}
		for _, c := range []*liveClient{here, there} {
			c.ack(c.send("resume", map[string]any{"conv": conv, "after_id": ""}))
		}
		sup.ack(sup.send("watch", map[string]any{"conv": conv}))
		// Both consoles hear the customer live before the loss.
		sms(from, "before "+from)
		for _, c := range []*liveClient{here, there} {
			c.next("live line", textIs("before "+from))
		}
		sup.next("live line", textIs("before "+from))
		return conv
	}
	// cutOff proves that a02's consoles got the frame telling them and
	// then hear nothing more of conv, while the supervisor does.
	cutOff := func(conv, frame, after string, write func()) {
		t.Helper()
		for _, c := range []*liveClient{here, there} {
			c.next(frame+" on "+conv, func(f map[string]any) bool { return f["type"] == frame && f["conv"] == conv })
		}
		write()
		sup.next("the line after the loss", textIs(after))
		for _, c := range []*liveClient{here, there} {
			c.never(250*time.Millisecond, textIs(after))
		}
	}

	// closeConv ends a conversation a subtest leaves waiting, so the next
	// offer is the next subtest's.
	closeConv := func(conv string) {
		t.Helper()
		if code := postJSON(t, base2+"/api/v1/conversations/"+conv+"/close", supCookies, csrf, `{"disposition":"test over"}`); code != http.StatusOK {
			t.Fatalf("close: %d", code)
		}
	}
	t.Run("supervisor reassigns", func(t *testing.T) {
		conv := offered("+46700000001", true)
		a01.ack(a01.send("state", map[string]any{"state": "available"}))
		sup.ack(sup.send("assign", map[string]any{"conv": conv, "agent": "a01"}))
		cutOff(conv, "unassigned", "SECRET card number 4111", func() { sms("+46700000001", "SECRET card number 4111") })
		a01.next("offer", ofType("offer"))
		a01.ack(a01.send("accept", map[string]any{"conv": conv}))
		a01.ack(a01.send("state", map[string]any{"state": "away", "reason": "later"}))
		closeConv(conv)
	})
	t.Run("supervisor transfers to a queue", func(t *testing.T) {
		conv := offered("+46700000002", true)
		here.ack(here.send("state", map[string]any{"state": "away", "reason": "break"}))
		if code := postJSON(t, base2+"/api/v1/conversations/"+conv+"/transfer", supCookies, csrf, `{"queue":"support"}`); code != http.StatusOK {
			t.Fatalf("transfer: %d", code)
		}
		cutOff(conv, "unassigned", "SECRET after transfer", func() { sms("+46700000002", "SECRET after transfer") })
		closeConv(conv)
	})
	t.Run("supervisor sets the agent away while offered", func(t *testing.T) {
		conv := offered("+46700000003", false)
		sup.ack(sup.send("agent_state", map[string]any{"agent": "a02", "state": "away", "reason": "coaching"}))
		cutOff(conv, "offer_revoked", "SECRET after away", func() { sms("+46700000003", "SECRET after away") })
		closeConv(conv)
	})
	t.Run("declined on the other console", func(t *testing.T) {
		conv := offered("+46700000004", false)
		here.ack(here.send("decline", map[string]any{"conv": conv}))
		here.ack(here.send("state", map[string]any{"state": "away", "reason": "break"}))
		write := func() { sms("+46700000004", "SECRET after decline") }
		write()
		sup.next("the line after the decline", textIs("SECRET after decline"))
		for _, c := range []*liveClient{here, there} {
			c.never(250*time.Millisecond, textIs("SECRET after decline"))
		}
		closeConv(conv)
	})
	t.Run("supervisor closes", func(t *testing.T) {
		conv := offered("+46700000005", true)
		if code := postJSON(t, base2+"/api/v1/conversations/"+conv+"/close", supCookies, csrf, `{"disposition":"spam"}`); code != http.StatusOK {
			t.Fatalf("close: %d", code)
		}
		cutOff(conv, "conversation_closed", "a note after the close", func() {
			if code := postJSON(t, base2+"/api/v1/conversations/"+conv+"/notes", supCookies, csrf, `{"text":"a note after the close"}`); code/100 != 2 {
				t.Fatalf("note: %d", code)
			}
		})
	})
}

// textIs matches a message frame with that text.
func textIs(text string) func(map[string]any) bool {
	return func(f map[string]any) bool {
		m, ok := f["message"].(map[string]any)
		return f["type"] == "message" && ok && m["text"] == text
	}
}

// liveClient is a console or supervisor socket read by its own goroutine,
// so a test can wait for a frame that must not come without spoiling the
// connection (a read deadline would).
type liveClient struct {
	t       *testing.T
	ws      *websocket.Conn
	n       int
	frames  chan map[string]any
	pending []map[string]any
}

func dialLive(t *testing.T, base, path string, cookies []*http.Cookie) *liveClient {
	t.Helper()
	hdr := http.Header{"Origin": {base}}
	for _, ck := range cookies {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+path, hdr)
	if err != nil {
		t.Fatal(err)
	}
	c := &liveClient{t: t, ws: ws, frames: make(chan map[string]any, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.frames)
		for {
			var f map[string]any
			if err := ws.ReadJSON(&f); err != nil {
				return
			}
			c.frames <- f
		}
	}()
	t.Cleanup(func() { ws.Close(); <-done })
	c.next("hello", ofType("hello"))
	return c
}

func (c *liveClient) send(typ string, fields map[string]any) string {
	c.t.Helper()
	c.n++
	id := fmt.Sprintf("r%d", c.n)
	frame := map[string]any{"type": typ, "id": id}
	for k, v := range fields {
		frame[k] = v
	}
	if err := c.ws.WriteJSON(frame); err != nil {
		c.t.Fatal(err)
	}
	return id
}

// next returns the first frame, read earlier or now, that satisfies match;
// others are kept for later calls.
func (c *liveClient) next(what string, match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	for i, f := range c.pending {
		if match(f) {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return f
		}
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("socket closed while waiting for %s", what)
			}
			if match(f) {
				return f
			}
			c.pending = append(c.pending, f)
		case <-timeout:
			c.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (c *liveClient) ack(id string) map[string]any {
	c.t.Helper()
	f := c.next("ack "+id, func(f map[string]any) bool { return f["type"] == "ack" && f["id"] == id })
	if f["ok"] != true {
		c.t.Fatalf("request %s refused: %v", id, f)
	}
	return f
}

// never fails if a frame matching match, read earlier or within d, arrives.
func (c *liveClient) never(d time.Duration, match func(map[string]any) bool) {
	c.t.Helper()
	for _, f := range c.pending {
		if match(f) {
			c.t.Fatalf("got %v after losing the conversation", f)
		}
	}
	timeout := time.After(d)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatal("socket closed")
			}
			if match(f) {
				c.t.Fatalf("got %v after losing the conversation", f)
			}
			c.pending = append(c.pending, f)
		case <-timeout:
			return
		}
	}
}
