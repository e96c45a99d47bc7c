package voice

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

func TestForgedAndMalformedWebhooksStoreNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	form := twiliotest.InboundCall(h.creds.AccountSID, caller, ourNumber)
	other := twiliotest.Credentials()
	cases := []struct {
		desc string
		form url.Values
		sig  string
		want int
	}{
		{desc: "no signature", form: form, want: http.StatusForbidden},
		{desc: "signed with another token", form: form, sig: twiliotest.New(t, other).Sign(publicURL+InboundPath, form), want: http.StatusForbidden},
		{desc: "signed for another URL", form: form, sig: h.fake.Sign("https://evil.example.com"+InboundPath, form), want: http.StatusForbidden},
		{desc: "another account", form: with(form, "AccountSid", other.AccountSID), want: http.StatusForbidden},
		{desc: "no CallSid", form: with(form, "CallSid", ""), want: http.StatusBadRequest},
		{desc: "garbage CallSid", form: with(form, "CallSid", "CA'; DROP"), want: http.StatusBadRequest},
		{desc: "our number garbled", form: with(form, "To", "not a number"), want: http.StatusBadRequest},
		{desc: "no caller", form: with(form, "From", ""), want: http.StatusBadRequest},
		{desc: "status not a word", form: with(form, "CallStatus", "<b>"), want: http.StatusBadRequest},
	}
	for _, tc := range cases {
		sig := tc.sig
		if sig == "" && tc.want != http.StatusForbidden || tc.desc == "another account" {
			sig = h.fake.Sign(publicURL+InboundPath, tc.form)
		}
		if w := h.postSigned(InboundPath, tc.form, sig); w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.desc, w.Code, tc.want)
		}
	}
	if got := h.core.calls(); len(got) != 0 {
		t.Fatalf("core called: %v", got)
	}
	// Every webhook path is guarded, not just the first.
	for _, p := range []string{StatusPath, WaitPath, QueueResultPath, PressPath, ConnectPath, DialedPath, LegPath,
		CallbackAgentPath, CallbackDialPath, VoicemailPath, RecordingPath, TranscriptionPath} {
		if w := h.postSigned(p, form, ""); w.Code != http.StatusForbidden {
			t.Errorf("unsigned POST %s: %d", p, w.Code)
		}
	}
}

func TestUnknownCallsAreAnsweredAndIgnored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	stranger := twiliotest.CallForm(h.creds.AccountSID, twiliotest.NewCallSid(), caller, ourNumber, "completed")
	for _, p := range []string{StatusPath, QueueResultPath, PressPath, RecordingPath + "?kind=voicemail", TranscriptionPath} {
		if w := h.post(p, with(stranger, "QueueResult", "hangup", "Digits", "1")); w.Code != http.StatusOK {
			t.Errorf("POST %s for an unknown call: %d %s", p, w.Code, w.Body.String())
		}
	}
	// A caller we do not know is still held with music, never hung up on.
	if d := h.twiml(WaitPath, stranger); d.names() != "Play" {
		t.Fatalf("wait for an unknown call: %s", d.names())
	}
	if got := h.core.calls(); len(got) != 0 {
		t.Fatalf("core called: %v", got)
	}
}

// Twilio retries an inbound webhook it got no answer to: one conversation,
// one greeting recorded, the same TwiML.
func TestRetriedInboundWebhook(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	form := twiliotest.InboundCall(h.creds.AccountSID, caller, ourNumber)
	h.twiml(InboundPath, form)
	again := h.twiml(InboundPath, form)
	if again.names() != "Enqueue" {
		t.Fatalf("retry answered %s", again.names())
	}
	if got := h.core.calls(); len(got) != 1 || len(h.core.told) != 1 {
		t.Fatalf("core calls %v, told %d", got, len(h.core.told))
	}
}

func TestWithheldNumberGetsNoCallbackOffer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, _ := h.dial("+266696687")
	if in := h.core.inbox[0]; !strings.HasPrefix(in.From, "withheld:") {
		t.Fatalf("withheld caller stored as %q", in.From)
	}
	h.clock.Add(5 * time.Minute)
	if w := c.wait(twiliotest.NewQueueSid()); strings.Contains(w.names(), "Gather") {
		t.Fatalf("callback offered to a withheld number: %s", w.names())
	}
}

func TestAfterHoursVoicemail(t *testing.T) {
	t.Parallel()
	week, err := hours.Compile(&hours.Week{Open: []hours.Span{{Days: "mon-fri", From: "09:00", To: "17:00"}}}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config, d *Deps) {
		d.Hours = hours.Queues{"support": week}
		c.Voicemail.Transcribe = true
	})
	h.clock.Add(6 * time.Hour) // Tuesday 20:00 UTC
	form := twiliotest.InboundCall(h.creds.AccountSID, caller, ourNumber)
	doc := h.twiml(InboundPath, form)
	if doc.names() != "Say Record Say Hangup" {
		t.Fatalf("after hours: %s", doc.names())
	}
	if s := doc.Children[0].text(); !strings.Contains(s, "closed right now and open tomorrow at 09:00 UTC") {
		t.Fatalf("closed message %q", s)
	}
	rec := doc.child("Record")
	if rec.attr("maxLength") != "120" || rec.attr("transcribe") != "true" || rec.attr("action") != publicURL+VoicemailPath {
		t.Fatalf("record %+v", rec.Attrs)
	}
	if len(h.core.calls()) != 0 {
		t.Fatal("a conversation was opened before there was a message")
	}
	sid := form.Get("CallSid")
	rf := with(twiliotest.CallForm(h.creds.AccountSID, sid, caller, ourNumber, "completed"),
		"RecordingSid", twiliotest.NewRecordingSid(), "RecordingStatus", "completed", "RecordingDuration", "17",
		"RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/"+h.creds.AccountSID+"/Recordings/RE1")
	cb := pathOf(t, rec.attr("recordingStatusCallback"))
	for range 2 { // delivered twice: one conversation
		if w := h.post(cb, rf); w.Code != http.StatusOK {
			t.Fatalf("recording callback: %d %s", w.Code, w.Body.String())
		}
	}
	if len(h.core.inbox) != 1 {
		t.Fatalf("%d voicemails stored", len(h.core.inbox))
	}
	in := h.core.inbox[0]
	if in.Text != "Voicemail from "+caller+" (17 s)." || len(in.Attachments) != 1 ||
		in.Attachments[0].ContentType != "audio/mpeg" || !strings.HasSuffix(in.Attachments[0].URL, "/Recordings/RE1.mp3") {
		t.Fatalf("voicemail %+v", in)
	}
	conv := "conv-1"
	if h.core.conv(conv).state != "waiting" {
		t.Fatalf("voicemail not waiting in the queue: %+v", h.core.conv(conv))
	}
	tf := with(twiliotest.CallForm(h.creds.AccountSID, sid, caller, ourNumber, "completed"),
		"TranscriptionStatus", "completed", "TranscriptionText", "Hi, it's about my order 1234.")
	h.post(pathOf(t, rec.attr("transcribeCallback")), tf)
	h.post(pathOf(t, rec.attr("transcribeCallback")), tf)
	if ev := h.core.events(conv); !slices.Equal(ev, []string{"voicemail_transcript"}) ||
		!strings.Contains(h.core.line(conv, "voicemail_transcript"), "order 1234") {
		t.Fatalf("transcript lines %v", ev)
	}
}

func TestCallRecordingLinked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *Deps) { c.RecordCalls = true })
	c, _ := h.dial(caller)
	c.wait(twiliotest.NewQueueSid())
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	dial := h.twiml(pathOf(t, h.fake.MemberUpdates()[0].URL), c.form("in-progress")).child("Dial")
	if dial.attr("record") != "record-from-answer-dual" {
		t.Fatalf("dial %+v", dial.Attrs)
	}
	rf := c.form("completed", "RecordingSid", twiliotest.NewRecordingSid(), "RecordingStatus", "completed",
		"RecordingDuration", "95", "RecordingUrl", "https://api.twilio.com/rec/RE2")
	h.post(pathOf(t, dial.attr("recordingStatusCallback")), rf)
	h.post(pathOf(t, dial.attr("recordingStatusCallback")), rf)
	if ev := h.core.events(c.conv); slices.Index(ev, "recording") < 0 || len(ev) != 2 ||
		!strings.Contains(h.core.line(c.conv, "recording"), "https://api.twilio.com/rec/RE2.mp3") {
		t.Fatalf("events %v", ev)
	}
}

func TestSoftphoneToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	get := func(cookie string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, TokenPath, nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: "agent", Value: cookie})
		}
		w := httptest.NewRecorder()
		h.e.ServeHTTP(w, r)
		return w
	}
	if w := get(""); w.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", w.Code)
	}
	w := get("ana")
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("token: %d %s", w.Code, w.Body.String())
	}
	var ans tokenAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(ans.Token, ".")
	if len(parts) != 3 || ans.Identity != "ana" || ans.ExpiresAt.Sub(h.clock.Now()) != time.Hour {
		t.Fatalf("answer %+v", ans)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Iss    string `json:"iss"`
		Sub    string `json:"sub"`
		Grants struct {
			Identity string `json:"identity"`
			Voice    struct {
				Incoming struct {
					Allow bool `json:"allow"`
				} `json:"incoming"`
				Outgoing *struct{} `json:"outgoing"`
			} `json:"voice"`
		} `json:"grants"`
		Exp, Nbf float64
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Grants.Identity != "ana" || !claims.Grants.Voice.Incoming.Allow || claims.Grants.Voice.Outgoing != nil ||
		claims.Sub != h.creds.AccountSID || !strings.HasPrefix(claims.Iss, "SK") || claims.Exp-claims.Nbf < 3600 {
		t.Fatalf("claims %+v", claims)
	}

	off := newHarness(t, func(c *Config, _ *Deps) { c.APIKeySID, c.APIKeySecret = "", "" })
	r := httptest.NewRequest(http.MethodGet, TokenPath, nil)
	r.AddCookie(&http.Cookie{Name: "agent", Value: "ana"})
	rec := httptest.NewRecorder()
	off.e.ServeHTTP(rec, r)
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "TWILIO_API_KEY_SID") {
		t.Fatalf("without an API key: %d %s", rec.Code, rec.Body.String())
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	base := func() (Config, Deps) {
		return Config{Credentials: creds, PublicURL: publicURL},
			Deps{Core: newFakeCore(time.Now), Redis: server.NewClient(t), Workspace: "bad"}
	}
	if _, err := New(Config{PublicURL: publicURL}, Deps{}); err != ErrDisabled {
		t.Fatalf("no credentials: %v", err)
	}
	for _, edit := range []func(*Config, *Deps){
		func(c *Config, _ *Deps) { c.Numbers = map[string]string{"12": "support"} },
		func(c *Config, _ *Deps) { c.Numbers = map[string]string{ourNumber: ""} },
		func(c *Config, _ *Deps) { c.HoldMusic = "hold.mp3" },
		func(c *Config, _ *Deps) { c.APIKeySID = "SK1" },
		func(c *Config, _ *Deps) { c.AgentNumbers = map[string]string{"ana": "call me"} },
		func(_ *Config, d *Deps) { d.Core = nil },
	} {
		cfg, deps := base()
		edit(&cfg, &deps)
		if _, err := New(cfg, deps); err == nil || strings.Contains(err.Error(), creds.AuthToken) {
			t.Errorf("New accepted %+v or leaked the token: %v", cfg, err)
		}
	}
}

func TestAddressesAndSend(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if a := h.ch.Addresses(); len(a) != 1 || a[0].Value != ourNumber || a[0].Queue != "support" {
		t.Fatalf("addresses %+v", a)
	}
	if _, err := h.ch.Send(h.ctx, channelOutbound()); err == nil {
		t.Fatal("Send on a call succeeded")
	}
}
