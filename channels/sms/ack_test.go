package sms

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

func TestWaitPhrase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		low, high time.Duration
		want      string
	}{
		{0, 40 * time.Second, "in under a minute"},
		{30 * time.Second, 90 * time.Second, "in up to 2 minutes"},
		{3 * time.Minute, 5 * time.Minute, "in about 3–5 minutes"},
		{3*time.Minute + 50*time.Second, 4*time.Minute + 10*time.Second, "in about 3–5 minutes"},
		{4 * time.Minute, 4 * time.Minute, "in about 4 minutes"},
		{time.Minute, time.Minute + time.Second, "in about 1–2 minutes"},
		{20 * time.Minute, 80 * time.Minute, "in about 20–80 minutes"},
		{45 * time.Minute, 2 * time.Hour, "in up to 2 hours"},
		{2 * time.Hour, 3*time.Hour + time.Minute, "in about 2–4 hours"},
		{2 * time.Hour, 2 * time.Hour, "in about 2 hours"},
	}
	for _, tc := range tests {
		if got := waitPhrase(tc.low, tc.high); got != tc.want {
			t.Errorf("waitPhrase(%v, %v) = %q, want %q", tc.low, tc.high, got, tc.want)
		}
	}
}

func TestAcknowledgementTexts(t *testing.T) {
	t.Parallel()
	// Sunday 22 November 2026, 19:05 UTC.
	sunday := time.Date(2026, 11, 22, 19, 5, 0, 0, time.UTC)
	monday := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	weekendOnly, err := hours.Compile(&hours.Week{Open: []hours.Span{{Days: "sat-sun", From: "10:00", To: "16:00"}}}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	deprecated := &BusinessHours{TimeZone: "UTC", Open: []OpenSpan{{Days: "mon-fri", From: "09:00", To: "17:00"}}}
	tests := []struct {
		desc      string
		est       *fakeEstimator
		noEst     bool
		hours     *BusinessHours
		queueHrs  hours.Source
		replies   map[string]Reply
		now       time.Time
		want      string // "" means no acknowledgement
		wantRange bool
	}{
		{desc: "estimate", est: &fakeEstimator{low: 3 * time.Minute, high: 5 * time.Minute, ok: true},
			want: "Thanks for your message. A person will reply in about 3–5 minutes.", wantRange: true},
		{desc: "no estimator: no time promised", noEst: true, want: DefaultWithoutEstimate},
		{desc: "estimator has none", est: &fakeEstimator{ok: false}, want: DefaultWithoutEstimate},
		{desc: "estimator fails", est: &fakeEstimator{err: errors.New("redis down"), ok: true, high: time.Minute}, want: DefaultWithoutEstimate},
		{desc: "closed: says when", est: &fakeEstimator{low: time.Minute, high: 2 * time.Minute, ok: true}, hours: deprecated, now: sunday,
			want: "Thanks for your message. We are closed right now; a person will reply after we open tomorrow at 09:00 UTC."},
		{desc: "queue hours win over the deprecated setting", est: &fakeEstimator{low: time.Minute, high: 2 * time.Minute, ok: true},
			hours: deprecated, queueHrs: queueHours{"support": weekendOnly}, now: monday,
			want: "Thanks for your message. We are closed right now; a person will reply after we open on Saturday at 10:00 UTC."},
		{desc: "open: estimate", est: &fakeEstimator{low: time.Minute, high: 2 * time.Minute, ok: true}, hours: deprecated, now: monday,
			want: "Thanks for your message. A person will reply in about 1–2 minutes.", wantRange: true},
		{desc: "custom per queue", est: &fakeEstimator{low: 3 * time.Minute, high: 5 * time.Minute, ok: true},
			replies: map[string]Reply{"support": {WithEstimate: "Hi from {{.Queue}}! Someone replies {{.Wait}}."}},
			want:    "Hi from support! Someone replies in about 3–5 minutes.", wantRange: true},
		{desc: "star applies to other queues", noEst: true,
			replies: map[string]Reply{"*": {WithoutEstimate: "Got it."}, "sales": {Off: true}}, want: "Got it."},
		{desc: "off for the queue", noEst: true, replies: map[string]Reply{"support": {Off: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config, d *Deps, fc *fakeCore) {
				c.BusinessHours, c.Replies = tc.hours, tc.replies
				d.Hours = tc.queueHrs
				if tc.noEst {
					fc.est = nil
				} else {
					fc.est = tc.est
				}
				if !tc.now.IsZero() {
					d.Now = func() time.Time { return tc.now }
				}
			})
			h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
			h.settle()
			msgs := h.fake.Messages()
			if tc.want == "" {
				if len(msgs) != 0 {
					t.Fatalf("sent %q", msgs[0].Body)
				}
				return
			}
			if len(msgs) != 1 || msgs[0].Body != tc.want {
				t.Fatalf("sent %+v, want %q", msgs, tc.want)
			}
			ps := h.promises.Got()
			if len(ps) != 1 || (ps[0].High > 0) != tc.wantRange {
				t.Fatalf("promise %+v", ps)
			}
		})
	}
}

func TestAcknowledgementRetriesTemporaryFailures(t *testing.T) {
	t.Parallel()
	down := twiliotest.Failure{HTTPStatus: 503, Code: 20503, Message: "Service Unavailable"}
	for _, tc := range []struct {
		fails, wantSent, wantCalls int
	}{
		{fails: 2, wantSent: 1, wantCalls: 3}, // the third of three attempts goes out
		{fails: 3, wantSent: 0, wantCalls: 3}, // three attempts, then given up
	} {
		h := newHarness(t, nil)
		var f []twiliotest.Failure
		for range tc.fails {
			f = append(f, down)
		}
		h.fake.FailNext(f...)
		start := time.Now()
		h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
		h.settle()
		if n := len(h.fake.Messages()); n != tc.wantSent {
			t.Fatalf("after %d 503s: %d acknowledgements, want %d", tc.fails, n, tc.wantSent)
		}
		if n := len(h.fake.Requests()); n != tc.wantCalls {
			t.Fatalf("after %d 503s: %d calls, want %d", tc.fails, n, tc.wantCalls)
		}
		// The pauses double: 1 ms, then 2 ms (ackRetryWait is 1 ms here).
		if d := time.Since(start); d < 3*time.Millisecond {
			t.Fatalf("three attempts in %s: the pauses between them are missing", d)
		}
	}
}

// Twilio's 429 did nothing, so it does not use up the acknowledgement's
// three attempts: after five the customer is still acknowledged once.
func TestAcknowledgementWaitsOutABusyTwilio(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.fake.FailNext(failure429(), failure429(), failure429(), failure429(), failure429())
	h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
	h.settle()
	if n := len(h.fake.Messages()); n != 1 {
		t.Fatalf("acknowledgements after five 429s: %d, want 1", n)
	}
	if n := len(h.fake.Requests()); n != 6 {
		t.Fatalf("calls: %d, want 6", n)
	}
}

// A 429's Retry-After is waited out before the acknowledgement is tried
// again: the second call reaches Twilio at least the second it asked for
// after the first, not after the channel's own pause (1 ms here).
func TestAcknowledgementWaitsForRetryAfter(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	busy := failure429()
	busy.RetryAfter = "1"
	h.fake.FailNext(busy)
	h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
	h.settle()
	reqs := h.fake.Requests()
	if len(reqs) != 2 || len(h.fake.Messages()) != 1 {
		t.Fatalf("%d calls, %d acknowledgements; want the 429, then the acknowledgement", len(reqs), len(h.fake.Messages()))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < time.Second {
		t.Fatalf("tried again %s after a 429 asking for 1 s", gap)
	}
}

// A Retry-After beyond the acknowledgement's time (ackTimeout) is not
// slept through: the acknowledgement is given up at once, and logged.
func TestAcknowledgementGivesUpWhenRetryAfterOutlastsIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	busy := failure429()
	busy.RetryAfter = "3600"
	h.fake.FailNext(busy)
	start := time.Now()
	h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
	h.settle()
	if n, m := len(h.fake.Requests()), len(h.fake.Messages()); n != 1 || m != 0 {
		t.Fatalf("%d calls, %d acknowledgements; want the 429 alone", n, m)
	}
	if d := time.Since(start); d > ackTimeout/2 {
		t.Fatalf("gave up after %s: it waited instead", d)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "acknowledgement not sent") || !strings.Contains(logs, "outlast") {
		t.Fatalf("no log line says why: %s", logs)
	}
	if got := h.promises.Got(); len(got) != 0 {
		t.Fatalf("recorded as told: %+v", got)
	}
}

// The acknowledgement takes the opt-out the core read as it stored the
// message: no look-up of its own, and nothing sent to a customer the core
// found opted out, whatever the store says now.
func TestAcknowledgementTakesTheOptOutTheCoreRead(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv.optOut = channel.OptOutNo
	h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
	h.settle()
	if n := len(h.fake.Messages()); n != 1 {
		t.Fatalf("acknowledgements sent: %d, want 1", n)
	}
	if n := h.optOuts.readCount(); n != 0 {
		t.Fatalf("the opt-out store was read %d times; the receipt said already", n)
	}

	h = newHarness(t, nil)
	h.recv.optOut = channel.OptOutYes
	h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
	h.settle()
	if n := len(h.fake.Requests()); n != 0 {
		t.Fatalf("texted a customer the core found opted out: %d calls", n)
	}
	if !strings.Contains(h.logs.String(), "opted out") {
		t.Fatalf("no log line says why: %s", h.logs.String())
	}
}

// A try after a pause reads the opt-out again: the receipt's is as old as
// the message, and the customer may have texted STOP meanwhile.
func TestARetriedAcknowledgementReadsTheOptOutAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.recv.optOut = channel.OptOutNo // as the core read it with the message
	if err := h.optOuts.SetOptOut(t.Context(), channel.SMS, customer, true); err != nil {
		t.Fatal(err) // ...and the STOP that came after
	}
	h.fake.FailNext(twiliotest.Failure{HTTPStatus: 503, Message: "Service Unavailable"})
	h.post(InboundPath, h.inbound(customer, ourNumber, "hello"))
	h.settle()
	if n := len(h.fake.Requests()); n != 1 {
		t.Fatalf("Twilio called %d times; want once: the retry must find the STOP and send nothing", n)
	}
	if n := h.optOuts.readCount(); n != 1 {
		t.Fatalf("store read %d times; want once, by the retry", n)
	}
}

func TestAcknowledgementSkipsOptedOutCustomer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	_ = h.optOuts.SetOptOut(t.Context(), "sms", customer, true)
	h.post(InboundPath, h.inbound(customer, ourNumber, "hi again"))
	h.settle()
	if n := len(h.fake.Requests()); n != 0 {
		t.Fatalf("texted an opted-out customer: %d calls", n)
	}
	if !strings.Contains(h.logs.String(), "opted out") {
		t.Fatalf("no log line says why: %s", h.logs.String())
	}
}

// queueHours serves business hours per queue, as the wiring does.
type queueHours map[string]*hours.Schedule

func (q queueHours) Hours(queue string) *hours.Schedule { return q[queue] }
