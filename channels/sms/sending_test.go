package sms

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/channel"
)

// A reply that finds max_sending messages with Twilio already is answered
// busy without calling Twilio, and max_sending is checked.
func TestAReplyBeyondMaxSendingIsAnsweredBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *Deps, _ *fakeCore) { c.MaxSending = 1 })
	if err := h.ch.sending.Take(context.Background(), 0); err != nil { // one message with Twilio
		t.Fatal(err)
	}
	_, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "hi"})
	var busy *channel.BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("a second message at once: %v, want busy", err)
	}
	if n := len(h.fake.Requests()); n != 0 {
		t.Fatalf("%d calls to Twilio, want none", n)
	}
	h.ch.sending.Put()
	if _, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "hi"}); err != nil {
		t.Fatalf("once there is room: %v", err)
	}
	for _, n := range []int{-1, 1025} {
		cfg := Config{Credentials: h.creds, PublicURL: publicURL, APIBaseURL: h.fake.URL, MaxSending: n}
		if _, err := New(cfg, h.promises, Deps{OptOuts: h.optOuts}); err == nil || !strings.Contains(err.Error(), "max_sending") {
			t.Errorf("max_sending %d: %v, want an error naming it", n, err)
		}
	}
}
