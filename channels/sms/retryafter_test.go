package sms

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

// A reply Twilio answers 429 with a Retry-After is put off by the real
// outbox for as long as Twilio asked (plus the outbox's up to 20%), at
// most a minute (maxRetryAfter), without using an attempt; without the
// header the outbox's own short delay stands. Asserted on the time the
// outbox scheduled the reply for (sb:{ws}:outbox, scored in ms), not by
// waiting.
func TestAReplyIsPutOffAsLongAsTwilioAsks(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{})
	tests := []struct {
		desc       string
		retryAfter string
		dateIn     time.Duration // Retry-After is the HTTP date this far ahead
		// The reply comes back between low after it was written and
		// high after it was seen put off.
		low, high time.Duration
	}{
		{desc: "seconds", retryAfter: "30", low: 30 * time.Second, high: 36*time.Second + time.Second},
		{desc: "HTTP date", dateIn: 45 * time.Second, low: 43 * time.Second, high: 54*time.Second + time.Second},
		{desc: "an hour: a minute at most", retryAfter: "3600", low: time.Minute, high: 72*time.Second + time.Second},
		{desc: "nonsense: the outbox's own delay", retryAfter: "soon", high: time.Second},
		{desc: "none: the outbox's own delay", high: time.Second},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			ws := "retryafter" + string(rune('a'+i))
			rdb := srv.NewClient(t)
			svc, err := conversation.New(conversation.Params{
				Redis: rdb, Workspace: ws, Router: noRouter{},
				Senders:       map[channel.Name]conversation.Sender{channel.SMS: h.ch},
				AttachmentDir: t.TempDir(),
				// Only the reply being written wakes the outbox: once put
				// off it stays put, even past a short delay, while the
				// test reads when it is due.
				Outbox: conversation.OutboxConfig{Poll: time.Hour},
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithCancel(context.Background())
			ran := make(chan struct{})
			go func() { _ = svc.Run(ctx); close(ran) }()
			t.Cleanup(func() { stop(); <-ran })

			r, err := svc.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: customer, To: ourNumber,
				Text: "where is my parcel?", ProviderID: "SM" + strings.Repeat("ab", 16)})
			if err != nil {
				t.Fatal(err)
			}
			written := time.Now()
			if tc.dateIn > 0 {
				tc.retryAfter = written.Add(tc.dateIn).UTC().Format(http.TimeFormat)
			}
			h.fake.FailNext(twiliotest.Failure{HTTPStatus: 429, Code: 20429, Message: "Too Many Requests", RetryAfter: tc.retryAfter})
			en, err := svc.Reply(ctx, r.ConversationID, "ana", "It left today.", nil)
			if err != nil {
				t.Fatal(err)
			}
			var m conversation.Message
			for deadline := time.Now().Add(10 * time.Second); m.Deferrals == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the reply was never put off: %+v", m)
				}
				if m, err = svc.Message(ctx, en.MessageID); err != nil {
					t.Fatal(err)
				}
			}
			seen := time.Now()
			score, err := rdb.ZScore(ctx, "sb:{"+ws+"}:outbox", en.MessageID).Result()
			if err != nil {
				t.Fatal(err)
			}
			back := time.UnixMilli(int64(score))
			if back.Before(written.Add(tc.low).Truncate(time.Millisecond)) || back.After(seen.Add(tc.high)) {
				t.Fatalf("Retry-After %q: the reply comes back %s after it was written, want %s to %s",
					tc.retryAfter, back.Sub(written).Round(time.Millisecond), tc.low, tc.high)
			}
			if m.Status != "pending" || m.Attempts != 0 || m.Deferrals != 1 {
				t.Fatalf("message put off = %+v, want pending with no attempt used", m)
			}
			if n := len(h.fake.Requests()); n != 1 || len(h.fake.Messages()) != 0 {
				t.Fatalf("%d calls to Twilio, %d messages; want the one turned away", n, len(h.fake.Messages()))
			}
		})
	}
}

// noRouter takes every conversation; the outbox needs no more of routing.
type noRouter struct{}

func (noRouter) Enqueue(context.Context, conversation.RouteRequest) error     { return nil }
func (noRouter) Abandon(context.Context, string) error                        { return nil }
func (noRouter) Close(context.Context, string, string) error                  { return nil }
func (noRouter) Transfer(context.Context, conversation.TransferRequest) error { return nil }
