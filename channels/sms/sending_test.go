package sms

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
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
	h := ackWaitingForTwilio(t)
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

// ackWaitingForTwilio is a harness whose one message with Twilio at once
// is under way, with a new customer's acknowledgement waiting for room.
func ackWaitingForTwilio(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, func(c *Config, _ *Deps, _ *fakeCore) { c.MaxSending = 1 })
	if err := h.ch.sending.Take(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
	waitSending(t, h, 0, 1)
	return h
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

// An acknowledgement held back by busy room until an agent has answered
// the customer is not sent: "we will be with you shortly" after the
// answer would only confuse. One that did not wait does not ask.
func TestAnAcknowledgementHeldBackUntilAnAgentAnsweredIsNotSent(t *testing.T) {
	t.Parallel()
	h := ackWaitingForTwilio(t)
	h.recv.mu.Lock()
	conv := h.recv.open[customer]
	h.recv.mu.Unlock()
	h.promises.answer(conv) // the agent's reply went first
	h.ch.sending.Put()
	h.settle()
	if msgs := h.fake.Messages(); len(msgs) != 0 {
		t.Fatalf("messages to Twilio: %+v; want no acknowledgement after the answer", msgs)
	}
	if got := h.promises.Got(); len(got) != 0 {
		t.Fatalf("recorded as told: %+v", got)
	}
	if !strings.Contains(h.logs.String(), "an agent answered first") {
		t.Fatalf("no log line says why: %s", h.logs.String())
	}
	// With room free, the next customer's acknowledgement goes at once,
	// without the read.
	h.post(InboundPath, h.inbound("+14155550177", ourNumber, "hello"))
	h.settle()
	if msgs := h.fake.Messages(); len(msgs) != 1 {
		t.Fatalf("messages to Twilio: %+v; want the second customer's acknowledgement", msgs)
	}
	h.promises.mu.Lock()
	defer h.promises.mu.Unlock()
	if h.promises.asked != 1 {
		t.Fatalf("asked whether answered %d times, want once (only for the one held back)", h.promises.asked)
	}
}

// An acknowledgement Twilio keeps answering 429 stops trying once an agent
// has answered the customer.
func TestAnAcknowledgementRetriedUntilAnAgentAnsweredIsNotSent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	busy := make([]twiliotest.Failure, 500)
	for i := range busy {
		busy[i] = failure429()
	}
	h.fake.FailNext(busy...)
	h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
	for deadline := time.Now().Add(5 * time.Second); len(h.fake.Requests()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the acknowledgement never reached Twilio")
		}
	}
	h.recv.mu.Lock()
	conv := h.recv.open[customer]
	h.recv.mu.Unlock()
	h.promises.answer(conv)
	h.settle()
	if n, m := len(h.fake.Requests()), len(h.fake.Messages()); m != 0 || n >= len(busy) {
		t.Fatalf("%d requests, %d messages to Twilio; want the retries to stop, nothing sent", n, m)
	}
	if !strings.Contains(h.logs.String(), "an agent answered first") {
		t.Fatalf("no log line says why: %s", h.logs.String())
	}
}
