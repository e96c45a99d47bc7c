package twiliotest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/demoserver"
	"github.com/switchboard/switchboard/internal/twilioapi"
)

// TestServeTwilioFake is not a test but the fake Twilio the browser tests
// in e2e/ run a real gateway against. It runs only when TWILIO_FAKE_ADDR is
// set (e.g. 127.0.0.1:0), with the credentials in TWILIO_ACCOUNT_SID and
// TWILIO_AUTH_TOKEN, prints "LISTENING <url>" and serves until SIGTERM or
// TWILIO_FAKE_SECONDS pass. Besides Twilio's REST API it answers
// GET /_fake/messages (the messages sent so far, as JSON) and
// POST /_fake/inbound (form url, from, to, body: an inbound SMS webhook,
// signed as Twilio signs it, posted to url; answers the gateway's status).
func TestServeTwilioFake(t *testing.T) {
	addr := os.Getenv("TWILIO_FAKE_ADDR")
	if addr == "" {
		t.Skip("TWILIO_FAKE_ADDR not set: this is the e2e fake Twilio, not a test")
	}
	creds := twilioapi.Credentials{AccountSID: os.Getenv("TWILIO_ACCOUNT_SID"), AuthToken: os.Getenv("TWILIO_AUTH_TOKEN")}
	if err := creds.Validate(); err != nil {
		t.Fatal(err)
	}
	s := New(t, creds)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_fake/messages", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Messages())
	})
	mux.HandleFunc("POST /_fake/inbound", func(w http.ResponseWriter, r *http.Request) {
		target := r.FormValue("url")
		if u, err := url.Parse(target); err != nil || u.Hostname() != "127.0.0.1" {
			http.Error(w, "url must be a loopback gateway", http.StatusBadRequest)
			return
		}
		form := InboundSMS(creds.AccountSID, r.FormValue("from"), r.FormValue("to"), r.FormValue("body"))
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilioapi.Sign(creds.AuthToken, target, form))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		res.Body.Close()
		w.WriteHeader(res.StatusCode)
	})
	mux.HandleFunc("/", s.serve)
	demoserver.Serve(t, addr, mux, demoserver.Seconds("TWILIO_FAKE_SECONDS"))
}
