package sms

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

func TestNewWithoutCredentialsIsDisabled(t *testing.T) {
	t.Parallel()
	_, err := New(Config{PublicURL: publicURL}, newFakeCore(), Deps{OptOuts: &memOptOuts{}})
	if !errors.Is(err, ErrDisabled) || !errors.Is(err, twilioapi.ErrNoCredentials) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), "TWILIO_ACCOUNT_SID") {
		t.Fatalf("the error does not say what to set: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	creds := twiliotest.Credentials()
	deps := Deps{OptOuts: &memOptOuts{}}
	good := func() Config { return Config{Credentials: creds, PublicURL: publicURL} }
	tests := []struct {
		desc string
		edit func(*Config, *Deps)
	}{
		{"token without SID", func(c *Config, _ *Deps) { c.Credentials.AccountSID = "" }},
		{"malformed SID", func(c *Config, _ *Deps) { c.Credentials.AccountSID = "AC123" }},
		{"no public URL", func(c *Config, _ *Deps) { c.PublicURL = "" }},
		{"bad mock URL", func(c *Config, _ *Deps) { c.APIBaseURL = "localhost:4010" }},
		{"number not E.164", func(c *Config, _ *Deps) { c.Numbers = map[string]string{"415 555 0199": "support"} }},
		{"number without queue", func(c *Config, _ *Deps) { c.Numbers = map[string]string{ourNumber: ""} }},
		{"template syntax", func(c *Config, _ *Deps) { c.Replies = map[string]Reply{"x": {Closed: "{{.Opens"}} }},
		{"template field typo", func(c *Config, _ *Deps) { c.Replies = map[string]Reply{"x": {WithEstimate: "{{.Wiat}}"}} }},
		{"bad hours", func(c *Config, _ *Deps) { c.BusinessHours = &BusinessHours{Open: []OpenSpan{{Days: "xyz"}}} }},
		{"no opt-out store", func(_ *Config, d *Deps) { d.OptOuts = nil }},
	}
	for _, tc := range tests {
		cfg, d := good(), deps
		tc.edit(&cfg, &d)
		_, err := New(cfg, newFakeCore(), d)
		if err == nil || errors.Is(err, ErrDisabled) {
			t.Errorf("%s: err = %v", tc.desc, err)
			continue
		}
		if strings.Contains(err.Error(), creds.AuthToken) || strings.Contains(err.Error(), creds.AccountSID) {
			t.Errorf("%s: credentials in error: %v", tc.desc, err)
		}
	}
}

func TestDescribeNamesTheURLsToConfigure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	d := h.ch.Describe()
	if !strings.Contains(d, publicURL+InboundPath) || !strings.Contains(d, publicURL+StatusPath) {
		t.Fatalf("Describe() = %q", d)
	}
	assertNoSecrets(t, h.creds, d)
}

// TestCredentialsNeverLogged drives every path that logs, including
// failures, with a debug-level JSON logger and greps the output; the
// harness checks the same at cleanup for every other test.
func TestCredentialsNeverLogged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.ch.log.Info("wiring", "twilio", h.creds) // as the wiring might, by mistake
	h.fake.FailNext(twiliotest.Failure{HTTPStatus: 401, Code: 20003, Message: "Authenticate " + h.creds.AccountSID},
		failure429(), failure429(), failure429())
	h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))       // ack fails 401
	h.post(InboundPath, h.inbound("+14155550111", ourNumber, "hello")) // ack fails 429 ×3
	h.post(InboundPath, h.inbound(customer, ourNumber, "hi"))          // joins
	h.postSigned(InboundPath, "Body=x", "", "", nil)                   // unsigned
	h.post(InboundPath, h.inbound("nonsense", ourNumber, "x"))         // 400
	h.recv.err = errors.New("store down")
	h.post(InboundPath, h.inbound("+14155550122", ourNumber, "hello")) // 503
	h.settle()
	_, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "x"})
	if err != nil {
		assertNoSecrets(t, h.creds, err.Error())
	}
	logs := h.logs.String()
	assertNoSecrets(t, h.creds, logs)
	if !strings.Contains(logs, "acknowledgement not sent") || !strings.Contains(logs, "rejected") {
		t.Fatalf("expected failure lines missing from the log:\n%s", logs)
	}
}
