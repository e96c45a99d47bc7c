package voice

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

// offerCallback waits until the callback is offered and presses 1.
func offerCallback(t *testing.T, h *harness, c *call) {
	t.Helper()
	qsid := twiliotest.NewQueueSid()
	if w := c.wait(qsid); w.names() != "Play" {
		t.Fatalf("callback offered too early: %s", w.names())
	}
	h.clock.Add(2 * time.Minute)
	w := c.wait(qsid)
	g := w.child("Gather")
	if w.names() != "Say Gather" || g.attr("numDigits") != "1" || g.names() != "Say Play" ||
		g.child("Say").text() != callbackOffer || g.attr("action") != publicURL+PressPath {
		t.Fatalf("offer document: %s / %s", w.names(), g.names())
	}
	// Offered once per announcement: the next document keeps the key live
	// under the music without repeating the offer.
	if w := c.wait(qsid); w.names() != "Gather" || w.child("Gather").names() != "Play" {
		t.Fatalf("document after the offer: %s / %s", w.names(), w.child("Gather").names())
	}
	if d := h.twiml(PressPath, c.form("in-progress", "Digits", "7")); len(d.Children) != 0 {
		t.Fatalf("another key did something: %s", d.names())
	}
	if d := h.twiml(PressPath, c.form("in-progress", "Digits", "1")); d.names() != "Leave" {
		t.Fatalf("press 1: %s", d.names())
	}
	conf := h.twiml(QueueResultPath, c.form("in-progress", "QueueResult", "leave", "QueueTime", "120"))
	if conf.names() != "Say Hangup" || !strings.Contains(conf.child("Say").text(), "you keep your place in line") ||
		!strings.Contains(conf.child("Say").text(), "We expect to call in up to 2 minutes.") {
		t.Fatalf("confirmation %s %q", conf.names(), conf.child("Say").text())
	}
	h.post(StatusPath, c.form("completed"))
}

func TestCallbackKeepsItsPlaceAndRetries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, _ := h.dial(caller)
	enqueued := h.core.conv(c.conv).enqueued
	offerCallback(t, h, c)

	// Hung up, but still waiting in our queue with the same enqueue time,
	// ahead of a caller who came later.
	if cv := h.core.conv(c.conv); cv.state != "waiting" || !cv.enqueued.Equal(enqueued) {
		t.Fatalf("conversation after the caller left: %+v", cv)
	}
	later, _ := h.dial(caller2)
	if p, _ := h.core.Place(h.ctx, c.conv); p.Position != 1 {
		t.Fatalf("callback lost its place: %d", p.Position)
	}
	if p, _ := h.core.Place(h.ctx, later.conv); p.Position != 2 {
		t.Fatalf("later caller at %d", p.Position)
	}
	if slices.Contains(h.core.calls(), "Abandon "+c.conv) {
		t.Fatal("a callback was abandoned")
	}

	// Accepted: the agent is called first.
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	calls := h.fake.Calls()
	if len(calls) != 1 || calls[0].To != "client:ana" || calls[0].From != ourNumber ||
		!strings.HasPrefix(calls[0].URL, publicURL+CallbackAgentPath+"?") || !strings.Contains(calls[0].URL, "attempt=1") {
		t.Fatalf("agent leg %+v", calls)
	}
	agentDoc := h.twiml(pathOf(t, calls[0].URL), twiliotest.CallForm(h.creds.AccountSID, calls[0].Sid, ourNumber, "client:ana", "in-progress"))
	dial := agentDoc.child("Dial")
	if agentDoc.names() != "Say Dial" || dial.child("Number").text() != caller || dial.attr("callerId") != ourNumber {
		t.Fatalf("agent leg document %s %+v", agentDoc.names(), dial)
	}
	// First attempt: no answer. The agent hears when the next one is.
	retry := h.twiml(pathOf(t, dial.attr("action")), with(twiliotest.CallForm(h.creds.AccountSID, calls[0].Sid, ourNumber, "client:ana", "in-progress"), "DialCallStatus", "no-answer"))
	if retry.names() != "Say Hangup" || !strings.Contains(retry.child("Say").text(), "try again in 5 minutes") {
		t.Fatalf("after a failed attempt: %q", retry.child("Say").text())
	}
	h.ch.placeDueCallbacks(h.ctx)
	if n := len(h.fake.Calls()); n != 1 {
		t.Fatalf("retried before the spacing: %d calls", n)
	}
	h.clock.Add(5 * time.Minute)
	h.ch.placeDueCallbacks(h.ctx)
	h.ch.placeDueCallbacks(h.ctx)
	calls = h.fake.Calls()
	if len(calls) != 2 || calls[1].To != "client:ana" || !strings.Contains(calls[1].URL, "attempt=2") {
		t.Fatalf("second attempt %+v", calls)
	}
	dial = h.twiml(pathOf(t, calls[1].URL), twiliotest.CallForm(h.creds.AccountSID, calls[1].Sid, ourNumber, "client:ana", "in-progress")).child("Dial")
	done := h.twiml(pathOf(t, dial.attr("action")), with(twiliotest.CallForm(h.creds.AccountSID, calls[1].Sid, ourNumber, "client:ana", "in-progress"),
		"DialCallStatus", "completed", "DialCallDuration", "200"))
	if done.names() != "Hangup" {
		t.Fatalf("after the callback: %s", done.names())
	}
	if got := h.core.calls(); got[len(got)-1] != "CustomerEnded "+c.conv {
		t.Fatalf("core calls %v", got)
	}
	want := []string{"callback_requested", "callback_accepted", "callback_attempt", "callback_attempt", "callback_attempt", "call_ended"}
	if ev := h.core.events(c.conv); !slices.Equal(ev, want) {
		t.Fatalf("transcript events %v, want %v", ev, want)
	}
}

func TestCallbackMissedAfterItsAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *Deps) { c.Callback.Attempts = 2; c.Callback.Spacing = time.Minute })
	c, _ := h.dial(caller)
	offerCallback(t, h, c)
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		calls := h.fake.Calls()
		if len(calls) != i+1 {
			t.Fatalf("attempt %d: %d calls", i+1, len(calls))
		}
		form := twiliotest.CallForm(h.creds.AccountSID, calls[i].Sid, ourNumber, "client:ana", "in-progress")
		dial := h.twiml(pathOf(t, calls[i].URL), form).child("Dial")
		h.twiml(pathOf(t, dial.attr("action")), with(form, "DialCallStatus", "busy"))
		h.clock.Add(time.Minute)
		h.ch.placeDueCallbacks(h.ctx)
	}
	if n := len(h.fake.Calls()); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
	if line := h.core.line(c.conv, "callback_missed"); !strings.Contains(line, "2 attempts to "+caller) {
		t.Fatalf("missed callback line %q", line)
	}
	if c.state().State != stateEnded {
		t.Fatalf("state %q", c.state().State)
	}
}

// An agent who does not pick up the callback's first leg misses the offer:
// the callback goes back to its place for the next agent.
func TestCallbackAgentLegMissed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, _ := h.dial(caller)
	offerCallback(t, h, c)
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	leg := h.fake.Calls()[0]
	form := twiliotest.CallForm(h.creds.AccountSID, leg.Sid, ourNumber, "client:ana", "no-answer")
	if w := h.post(pathOf(t, leg.StatusCallback), form); w.Code != http.StatusOK {
		t.Fatalf("leg status %d", w.Code)
	}
	h.post(pathOf(t, leg.StatusCallback), form) // delivered twice
	if got := h.core.calls(); got[len(got)-1] != "Missed "+c.conv+" ana" || slices.Index(got, "Missed "+c.conv+" ana") != len(got)-1 {
		t.Fatalf("core calls %v", got)
	}
	if c.state().State != stateCallback {
		t.Fatalf("state %q", c.state().State)
	}
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "bo")); err != nil {
		t.Fatal(err)
	}
	if calls := h.fake.Calls(); len(calls) != 2 || calls[1].To != "client:bo" {
		t.Fatalf("next agent not called: %+v", calls)
	}
}

// An agent on a phone number is called there, for calls and callbacks.
func TestAgentOnAPhoneNumber(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *Deps) { c.AgentNumbers = map[string]string{"ana": "+44 20 7183 8750"} })
	c, _ := h.dial(caller)
	c.wait(twiliotest.NewQueueSid())
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	dial := h.twiml(pathOf(t, h.fake.MemberUpdates()[0].URL), c.form("in-progress")).child("Dial")
	if dial.names() != "Number" || dial.child("Number").text() != "+442071838750" {
		t.Fatalf("dial %s %+v", dial.names(), dial)
	}
}

// Run places a callback whose retry is due, from any gateway.
func TestRunPlacesDueCallbacks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, _ := h.dial(caller)
	offerCallback(t, h, c)
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	first := h.fake.Calls()[0]
	form := twiliotest.CallForm(h.creds.AccountSID, first.Sid, ourNumber, "client:ana", "in-progress")
	dial := h.twiml(pathOf(t, first.URL), form).child("Dial")
	h.twiml(pathOf(t, dial.attr("action")), with(form, "DialCallStatus", "no-answer"))

	// A second gateway's channel on the same Redis workspace runs the retry.
	other := newHarness(t, nil)
	other.ch.calls, other.ch.rest, other.ch.core = h.ch.calls, h.ch.rest, h.ch.core
	other.ch.now = h.clock.Now
	other.ch.pollEvery = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- other.ch.Run(ctx) }()
	h.clock.Add(5 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for len(h.fake.Calls()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if calls := h.fake.Calls(); len(calls) != 2 || !strings.Contains(calls[1].URL, "attempt=2") {
		t.Fatalf("retry not placed by Run: %+v", calls)
	}
}

// A caller who booked a callback and calls again is not queued a second
// time: the new call takes the callback's conversation and place, an agent
// who accepts gets the live call (no callback is placed), and a caller who
// hangs up again keeps the callback.
func TestCallingAgainWhileACallbackIsBooked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	first, _ := h.dial(caller)
	enqueued := h.core.conv(first.conv).enqueued
	offerCallback(t, h, first)
	h.clock.Add(3 * time.Minute)
	other, _ := h.dial(caller2) // arrived after the callback was booked

	again, doc := h.dial(caller)
	if again.conv != first.conv {
		t.Fatalf("the second call opened conversation %s, not the callback's %s", again.conv, first.conv)
	}
	if n := strings.Count(strings.Join(h.core.calls(), " "), "Receive "); n != 2 {
		t.Fatalf("%d conversations opened, want 2 (the first call and the other caller's): %v", n, h.core.calls())
	}
	say := doc.child("Say").text()
	if doc.names() != "Say Enqueue" || !strings.Contains(say, "Your callback is booked and you keep your place in line.") ||
		!strings.Contains(say, "You are next in line.") {
		t.Fatalf("welcome back %s %q", doc.names(), say)
	}
	if cv := h.core.conv(first.conv); cv.state != "waiting" || !cv.enqueued.Equal(enqueued) {
		t.Fatalf("conversation %+v", cv)
	}
	if p, _ := h.core.Place(h.ctx, other.conv); p.Position != 2 {
		t.Fatalf("the later caller is at %d", p.Position)
	}
	if st := first.state(); st.State != stateEnded {
		t.Fatalf("the booked callback is %q while its caller is on the line", st.State)
	}

	// Hung up again while waiting: not an abandon; the callback is back.
	h.twiml(QueueResultPath, again.form("completed", "QueueResult", "hangup", "QueueTime", "30"))
	h.post(StatusPath, again.form("completed"))
	if slices.Contains(h.core.calls(), "Abandon "+first.conv) {
		t.Fatal("hanging up the second call abandoned the booked callback")
	}
	if st := first.state(); st.State != stateCallback {
		t.Fatalf("callback after the second hang-up: %q", st.State)
	}
	if ev := h.core.events(first.conv); !slices.Contains(ev, "callback_called_again") || !slices.Contains(ev, "callback_kept") {
		t.Fatalf("transcript events %v", ev)
	}

	// A third call, accepted this time: the live call is dequeued and no
	// callback is placed.
	third, _ := h.dial(caller)
	if third.conv != first.conv {
		t.Fatalf("third call in %s", third.conv)
	}
	if err := h.ch.Observe(h.ctx, h.core.accept(first.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	if st := third.state(); st.State != stateConnecting || st.Agent != "ana" {
		t.Fatalf("live call %+v", st)
	}
	if calls := h.fake.Calls(); len(calls) != 0 {
		t.Fatalf("a callback was placed while the caller was on the line: %+v", calls)
	}
}
