package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

// startConversation posts to POST /api/v1/conversations as a signed-in
// console does, returning the status and the decoded answer.
func startConversation(t *testing.T, base string, cookies []*http.Cookie, csrf, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/conversations", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer %d is not JSON: %s", res.StatusCode, b)
	}
	return res.StatusCode, out
}

// TestOutboundSMSThroughTheGateway: an agent texts a customer first
// through the whole gateway. A number that texted STOP (a signed Twilio
// webhook) is refused with 422 saying so; a started conversation is on the
// agent's console at once, its text reaches (the fake) Twilio from our
// number, and the customer's signed reply lands in the same conversation.
func TestOutboundSMSThroughTheGateway(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	const ours, maria, stopper = "+15550001111", "+46701234567", "+46709999999"
	file := filepath.Join(t.TempDir(), "sb.yaml")
	if err := os.WriteFile(file, []byte("channels:\n  sms:\n    numbers:\n      \""+ours+"\": support\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := start(t, map[string]string{
		"REDIS_URL": srv.URL(), "SWITCHBOARD_PUBLIC_URL": publicURL, "SWITCHBOARD_CONFIG": file,
		"TWILIO_ACCOUNT_SID": creds.AccountSID, "TWILIO_AUTH_TOKEN": creds.AuthToken, "TWILIO_API_BASE_URL": fake.URL,
		"SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1",
	})
	ctx := context.Background()
	authSvc, err := auth.New(auth.Config{Redis: srv.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := authSvc.CreateAccount(ctx, auth.Account{ID: "ana", Name: "Ana Lima", Role: auth.RoleAgent}, "ana-password-1"); err != nil {
		t.Fatal(err)
	}
	cookies := login(t, base, "ana", "ana-password-1")
	agent := dialConsole(t, base, cookies)
	csrf := csrfToken(t, base, cookies)

	inbound := func(from, text string) {
		t.Helper()
		form := twiliotest.InboundSMS(creds.AccountSID, from, ours, text)
		req, _ := http.NewRequest(http.MethodPost, base+"/twilio/sms", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilioapi.Sign(creds.AuthToken, publicURL+"/twilio/sms", form))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("inbound webhook from %s: %d", from, res.StatusCode)
		}
	}

	// Someone texts STOP; texting them first is refused, saying why.
	inbound(stopper, "STOP")
	code, out := startConversation(t, base, cookies, csrf, `{"channel":"sms","address":"`+stopper+`","text":"A deal for you"}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(out["error"].(string), "opted out") {
		t.Fatalf("start to an opted-out number: %d %v", code, out)
	}

	// Ana texts Maria first: the conversation is hers at once.
	code, out = startConversation(t, base, cookies, csrf, `{"channel":"sms","address":"`+maria+`","text":"Hi Maria, your refund is ready"}`)
	if code != http.StatusCreated || out["state"] != "active" || out["agent_id"] != "ana" {
		t.Fatalf("start: %d %v", code, out)
	}
	conv := out["id"].(string)
	assigned := agent.next("assigned", ofType("assigned"))
	if c := assigned["conversation"].(map[string]any); c["id"] != conv {
		t.Fatalf("assigned frame %v, want %s", assigned, conv)
	}
	// The console opens it as it opens any assigned conversation: the
	// transcript so far, and the conversation's messages from now on.
	res := agent.ack(agent.send("resume", map[string]any{"conv": conv, "after_id": ""}))
	var first bool
	for _, m := range res["data"].(map[string]any)["messages"].([]any) {
		m := m.(map[string]any)
		first = first || (m["kind"] == "agent" && m["text"] == "Hi Maria, your refund is ready")
	}
	if !first {
		t.Fatalf("the first message is not in the transcript: %v", res)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found bool
		for _, m := range fake.Messages() {
			if m.To == maria && m.From == ours && m.Body == "Hi Maria, your refund is ready" {
				found = true
			}
			if m.To == stopper {
				t.Fatalf("texted the opted-out number: %+v", m)
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first text never reached Twilio: %+v", fake.Messages())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Maria answers; no offer rings anywhere, her text is in Ana's conversation.
	inbound(maria, "Great, thank you!")
	msg := agent.next("maria's reply", func(f map[string]any) bool {
		m, _ := f["message"].(map[string]any)
		return f["type"] == "message" && m != nil && m["text"] == "Great, thank you!"
	})
	if msg["message"].(map[string]any)["conv"] != conv {
		t.Fatalf("the reply landed in %v, want %s", msg, conv)
	}
	for _, f := range agent.pending {
		if f["type"] == "offer" {
			t.Fatalf("the reply was offered as a new conversation: %v", f)
		}
	}
}
