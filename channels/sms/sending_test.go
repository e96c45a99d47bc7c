package sms

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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

// When Twilio's room frees up, an agent's reply goes before a new
// customer's acknowledgement that waited longer: a flood of new contacts
// must not hold back the conversations agents are in.
func TestAReplyGoesBeforeAWaitingAcknowledgement(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *Deps, _ *fakeCore) { c.MaxSending = 1 })
	if err := h.ch.sending.Take(context.Background(), 0); err != nil { // one message with Twilio
		t.Fatal(err)
	}
	h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
	waitSending(t, h, 0, 1)
	sent := make(chan error, 1)
	go func() {
		_, err := h.ch.Send(t.Context(), channel.Outbound{From: ourNumber, To: customer, Text: "Your parcel left today."})
		sent <- err
	}()
	waitSending(t, h, 1, 1)
	h.ch.sending.Put()
	if err := <-sent; err != nil {
		t.Fatalf("the reply: %v", err)
	}
	h.settle()
	msgs := h.fake.Messages()
	if len(msgs) != 2 || msgs[0].Body != "Your parcel left today." || msgs[0].StatusCallback == "" || msgs[1].StatusCallback != "" {
		t.Fatalf("messages to Twilio: %+v; want the reply, then the acknowledgement", msgs)
	}
}

func waitSending(t *testing.T, h *harness, replies, acks int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if r, a := h.ch.sending.Waiting(); r == replies && a == acks {
			return
		}
	}
	r, a := h.ch.sending.Waiting()
	t.Fatalf("%d replies and %d acknowledgements wait for Twilio, want %d and %d", r, a, replies, acks)
}
