package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

const publicURL = "https://support.example.test"

// consoleClient is an agent console speaking the websocket protocol.
type consoleClient struct {
	t       *testing.T
	ws      *websocket.Conn
	n       int
	pending []map[string]any // frames read while waiting for another
}

func (c *consoleClient) send(typ string, fields map[string]any) string {
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

// next returns the first frame, read earlier or now, that satisfies match,
// failing after a deadline. Frames that do not match are kept for later
// calls: an event may overtake the ack of the request that caused it.
func (c *consoleClient) next(what string, match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	for i, f := range c.pending {
		if match(f) {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return f
		}
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f map[string]any
		if err := c.ws.ReadJSON(&f); err != nil {
			c.t.Fatalf("waiting for %s: %v (frames seen meanwhile: %v)", what, err, c.pending)
		}
		if match(f) {
			return f
		}
		c.pending = append(c.pending, f)
	}
}

// none fails if a frame that satisfies match comes within d. It ends the
// client: a websocket read that timed out cannot be resumed.
func (c *consoleClient) none(what string, match func(map[string]any) bool, d time.Duration) {
	c.t.Helper()
	for _, f := range c.pending {
		if match(f) {
			c.t.Fatalf("unexpected %s: %v", what, f)
		}
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(d))
	for {
		var f map[string]any
		if err := c.ws.ReadJSON(&f); err != nil {
			return
		}
		if match(f) {
			c.t.Fatalf("unexpected %s: %v", what, f)
		}
		c.pending = append(c.pending, f)
	}
}

func (c *consoleClient) ack(id string) map[string]any {
	c.t.Helper()
	f := c.next("ack "+id, func(f map[string]any) bool { return f["type"] == "ack" && f["id"] == id })
	if f["ok"] != true {
		c.t.Fatalf("request %s refused: %v", id, f)
	}
	return f
}

func ofType(typ string) func(map[string]any) bool {
	return func(f map[string]any) bool { return f["type"] == typ }
}

// TestSMSFromWebhookToAgentAndBack follows one text message through the
// whole gateway: a signed Twilio webhook opens a conversation, the agent's
// console gets the offer over a websocket, accepts and replies, the fake
// Twilio receives the reply from our number, and its signed status callback
// marks the reply delivered on the console.
func TestSMSFromWebhookToAgentAndBack(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	base := start(t, map[string]string{
		"REDIS_URL": srv.URL(), "SWITCHBOARD_PUBLIC_URL": publicURL,
		"TWILIO_ACCOUNT_SID": creds.AccountSID, "TWILIO_AUTH_TOKEN": creds.AuthToken, "TWILIO_API_BASE_URL": fake.URL,
		"SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1",
	})
	ctx := context.Background()
	rdb := srv.NewClient(t)
	authSvc, err := auth.New(auth.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	if err := authSvc.CreateAccount(ctx, auth.Account{ID: "ana", Name: "Ana Lima", Role: auth.RoleAgent}, "ana-password-1"); err != nil {
		t.Fatal(err)
	}

	if err := authSvc.CreateAccount(ctx, auth.Account{ID: "ben", Name: "Ben Okafor", Role: auth.RoleAgent}, "ben-password-1"); err != nil {
		t.Fatal(err)
	}

	// Ana signs in and opens the console's websocket; so does Ben.
	anaCookies := login(t, base, "ana", "ana-password-1")
	agent := dialConsole(t, base, anaCookies)
	benCookies := login(t, base, "ben", "ben-password-1")
	ben := dialConsole(t, base, benCookies)
	agent.ack(agent.send("state", map[string]any{"state": "available"}))

	// Maria texts our number; Twilio signs the webhook for the public URL.
	const ours, maria = "+15550001111", "+46701234567"
	form := twiliotest.InboundSMS(creds.AccountSID, maria, ours, "Hej! Mitt paket kom aldrig fram 📦")
	post := func(path string, form url.Values, sig string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp
	}
	sig := twilioapi.Sign(creds.AuthToken, publicURL+"/twilio/sms", form)
	if r := post("/twilio/sms", form, sig); r.StatusCode != http.StatusOK {
		t.Fatalf("inbound webhook: %d", r.StatusCode)
	}
	// Twilio retries the same MessageSid from several connections at once;
	// every retry succeeds and none becomes a second message.
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := post("/twilio/sms", form, sig); r.StatusCode != http.StatusOK {
				t.Errorf("retried webhook: %d", r.StatusCode)
			}
		}()
	}
	wg.Wait()
	// A forged one is refused.
	if r := post("/twilio/sms", form, twilioapi.Sign("0000000000000000", publicURL+"/twilio/sms", form)); r.StatusCode != http.StatusForbidden {
		t.Fatalf("forged webhook: %d, want 403", r.StatusCode)
	}

	offer := agent.next("offer", ofType("offer"))["offer"].(map[string]any)
	conv := offer["conv"].(string)
	if offer["channel"] != "sms" || !strings.Contains(offer["preview"].(string), "paket") {
		t.Fatalf("offer: %v", offer)
	}
	agent.ack(agent.send("accept", map[string]any{"conv": conv}))
	agent.next("assigned", ofType("assigned"))

	// Ben may not read or answer Ana's conversation, on the websocket or
	// through the REST API: on both it does not exist for him.
	for _, typ := range []string{"resume", "reply", "close"} {
		id := ben.send(typ, map[string]any{"conv": conv, "after_id": "", "text": "hi", "disposition": "resolved"})
		f := ben.next("ack "+id, func(f map[string]any) bool { return f["type"] == "ack" && f["id"] == id })
		if f["ok"] != false || f["code"] != "not_found" {
			t.Fatalf("ben %s on ana's conversation: %v", typ, f)
		}
	}
	if code := getStatus(t, base+"/api/v1/conversations/"+conv, benCookies); code != http.StatusNotFound {
		t.Fatalf("ben GET ana's conversation: %d, want 404", code)
	}

	// One customer message in the transcript despite six deliveries.
	res := agent.ack(agent.send("resume", map[string]any{"conv": conv, "after_id": ""}))
	var customerMsgs int
	for _, m := range res["data"].(map[string]any)["messages"].([]any) {
		if m.(map[string]any)["kind"] == "customer" {
			customerMsgs++
		}
	}
	if customerMsgs != 1 {
		t.Fatalf("%d customer messages in the transcript, want 1", customerMsgs)
	}

	// Ana replies; the fake Twilio receives it from our number, unchanged.
	const reply = "Hej Maria! Jag kollar direkt — tack för ditt tålamod 🙏"
	agent.ack(agent.send("reply", map[string]any{"conv": conv, "text": reply}))
	var sent twiliotest.Message
	deadline := time.Now().Add(10 * time.Second)
	for sent.Sid == "" {
		for _, m := range fake.Messages() {
			if m.Body == reply {
				sent = m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply never reached Twilio; messages: %+v", fake.Messages())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sent.From != ours || sent.To != maria || sent.StatusCallback != publicURL+"/twilio/sms/status" {
		t.Fatalf("sent %+v", sent)
	}

	// Twilio reports delivery; the console shows it.
	cbURL, cbForm, cbSig, err := fake.StatusCallback(sent.Sid, "delivered", "")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cbURL)
	if r := post(u.Path, cbForm, cbSig); r.StatusCode/100 != 2 {
		t.Fatalf("status callback: %d", r.StatusCode)
	}
	agent.next("delivered status", func(f map[string]any) bool {
		return f["type"] == "message_status" && f["status"] == "delivered"
	})

	// The automatic first reply went out once, promised no time it could not
	// back (no measured waits yet), and the agent can read what it said.
	var acks int
	for _, m := range fake.Messages() {
		if m.To == maria && m.Body != reply {
			acks++
			if strings.Contains(m.Body, "minute") {
				t.Errorf("acknowledgement promised a wait without an estimate: %q", m.Body)
			}
		}
	}
	if acks != 1 {
		t.Fatalf("%d acknowledgements sent, want 1: %+v", acks, fake.Messages())
	}
	var noted bool
	for deadline := time.Now().Add(5 * time.Second); !noted && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		res := agent.ack(agent.send("resume", map[string]any{"conv": conv, "after_id": ""}))
		for _, m := range res["data"].(map[string]any)["messages"].([]any) {
			m := m.(map[string]any)
			noted = noted || (m["kind"] == "note" && strings.HasPrefix(m["text"].(string), "Automatic reply sent: "))
		}
	}
	if !noted {
		t.Fatal("the automatic reply is not in the transcript")
	}

	// Ana may reply through the REST API to the conversation she holds, but
	// may not link an address to its customer: that would merge in
	// whoever owns the address, with their history. She sees the customer,
	// so the answer is 403, not 404.
	csrf := csrfToken(t, base, anaCookies)
	if code := postJSON(t, base+"/api/v1/conversations/"+conv+"/notes", anaCookies, csrf, `{"text":"checked the carrier"}`); code/100 != 2 {
		t.Fatalf("ana's note through the API: %d", code)
	}
	custID := offer["customer"].(map[string]any)["id"].(string)
	if code := postJSON(t, base+"/api/v1/customers/"+custID+"/identities", anaCookies, csrf, `{"channel":"email","address":"someone@example.com"}`); code != http.StatusForbidden {
		t.Fatalf("agent linking an address: %d, want 403", code)
	}

	// Close: the conversation is closed in the REST API too.
	agent.ack(agent.send("close", map[string]any{"conv": conv, "disposition": "resolved"}))
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/conversations/"+conv, nil)
	for _, ck := range anaCookies {
		req.AddCookie(ck)
	}
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	var c struct {
		State       string `json:"state"`
		Disposition string `json:"disposition"`
		AgentID     string `json:"agent_id"`
	}
	if err := json.NewDecoder(got.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.State != "closed" || c.Disposition != "resolved" || c.AgentID != "ana" {
		t.Fatalf("conversation after close: %+v", c)
	}
}

func login(t *testing.T, base, id, password string) []*http.Cookie {
	t.Helper()
	resp, err := http.Post(base+"/api/v1/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"id":%q,"password":%q}`, id, password)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d", id, resp.StatusCode)
	}
	return resp.Cookies()
}

func dialConsole(t *testing.T, base string, cookies []*http.Cookie) *consoleClient {
	t.Helper()
	hdr := http.Header{"Origin": {base}}
	for _, ck := range cookies {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/agent/ws", hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &consoleClient{t: t, ws: ws}
	c.next("hello", ofType("hello"))
	return c
}

func getStatus(t *testing.T, url string, cookies []*http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// csrfToken asks /api/v1/me for the session's CSRF token.
func csrfToken(t *testing.T, base string, cookies []*http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/me", nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || me.CSRF == "" {
		t.Fatalf("no csrf token from /me: %v", err)
	}
	return me.CSRF
}

func postJSON(t *testing.T, url string, cookies []*http.Cookie, csrf, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
