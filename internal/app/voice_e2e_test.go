package app

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

// TestVoiceCallFromWebhookToAgent follows one call through the whole
// gateway, with the voice channel as the wiring lists it: a signed call
// webhook is answered with TwiML that holds the caller in a Twilio queue,
// the agent's console gets the voice offer, accepts, and the fake Twilio
// is asked to take the caller out of the queue to the agent.
func TestVoiceCallFromWebhookToAgent(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	creds := twiliotest.Credentials()
	fake := twiliotest.New(t, creds)
	base := start(t, map[string]string{
		"REDIS_URL": srv.URL(), "SWITCHBOARD_PUBLIC_URL": publicURL,
		"TWILIO_ACCOUNT_SID": creds.AccountSID, "TWILIO_AUTH_TOKEN": creds.AuthToken, "TWILIO_API_BASE_URL": fake.URL,
		"SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1",
	})
	authSvc, err := auth.New(auth.Config{Redis: srv.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := authSvc.CreateAccount(context.Background(), auth.Account{ID: "ana", Name: "Ana Lima", Role: auth.RoleAgent}, "ana-password-1"); err != nil {
		t.Fatal(err)
	}
	agent := dialConsole(t, base, login(t, base, "ana", "ana-password-1"))
	agent.ack(agent.send("state", map[string]any{"state": "available"}))

	post := func(path string, form url.Values, sig string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	form := twiliotest.InboundCall(creds.AccountSID, "+46701234567", "+15550001111")
	callSid := form.Get("CallSid")
	if code, _ := post("/twilio/voice", form, twilioapi.Sign("0000000000000000", publicURL+"/twilio/voice", form)); code != http.StatusForbidden {
		t.Fatalf("forged call webhook: %d, want 403", code)
	}
	code, twiml := post("/twilio/voice", form, fake.Sign(publicURL+"/twilio/voice", form))
	if code != http.StatusOK || !strings.Contains(twiml, "<Enqueue") || strings.Contains(twiml, "<Gather") {
		t.Fatalf("call webhook: %d %s", code, twiml)
	}

	offer := agent.next("voice offer", ofType("offer"))["offer"].(map[string]any)
	if offer["channel"] != "voice" {
		t.Fatalf("offer: %v", offer)
	}
	agent.ack(agent.send("accept", map[string]any{"conv": offer["conv"]}))
	agent.next("assigned", ofType("assigned"))

	// The caller is taken out of the Twilio queue towards the agent: a
	// queue-member dequeue or a redirect of the call itself.
	deadline := time.Now().Add(10 * time.Second)
	for {
		moved := false
		for _, m := range fake.MemberUpdates() {
			moved = moved || m.CallSid == callSid || m.CallSid == "Front"
		}
		for _, u := range fake.CallUpdates() {
			moved = moved || (u.CallSid == callSid && (u.URL != "" || u.Twiml != ""))
		}
		if moved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dequeue or redirect of %s after accept; members %v, updates %v", callSid, fake.MemberUpdates(), fake.CallUpdates())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
