package voice

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/twilioapi/twiliotest"
)

// A whole call: in, queued, announcements, accept, dequeue, answer, talk,
// completed, wrap-up (the core's CustomerEnded closes the conversation).
func TestCallAnsweredByAgent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, doc := h.dial(caller)

	if doc.names() != "Say Enqueue" {
		t.Fatalf("greeting document: %s", doc.names())
	}
	say := doc.child("Say").text()
	if !strings.HasPrefix(say, "Thanks for calling Acme.") || !strings.Contains(say, "You are next in line.") ||
		!strings.Contains(say, "The wait is up to 2 minutes.") {
		t.Fatalf("greeting %q", say)
	}
	enq := doc.child("Enqueue")
	if enq.text() != "sb-support" || enq.attr("waitUrl") != publicURL+WaitPath || enq.attr("waitUrlMethod") != "POST" ||
		enq.attr("action") != publicURL+QueueResultPath || enq.attr("method") != "POST" {
		t.Fatalf("enqueue %+v", enq)
	}
	if told := h.core.toldTo(c.conv); len(told) != 1 || told[0].text != say || told[0].place.Position != 1 || told[0].place.High != 2*time.Minute {
		t.Fatalf("told %+v", told)
	}
	if in := h.core.inbox[0]; in.Channel != channel.Voice || in.From != caller || in.To != ourNumber || in.ProviderID != c.sid {
		t.Fatalf("inbound %+v", in)
	}

	// The first wait document follows the greeting: music, no repeat.
	qsid := twiliotest.NewQueueSid()
	if w := c.wait(qsid); w.names() != "Play" || w.child("Play").text() != "https://cdn.example.com/hold.mp3" {
		t.Fatalf("first wait document: %s", w.names())
	}
	h.clock.Add(61 * time.Second)
	if w := c.wait(qsid); w.names() != "Say Play" {
		t.Fatalf("second wait document: %s", w.names())
	} else if !strings.Contains(w.child("Say").text(), "next in line") {
		t.Fatalf("announcement %q", w.child("Say").text())
	}
	if n := len(h.core.toldTo(c.conv)); n != 2 {
		t.Fatalf("%d announcements recorded", n)
	}

	h.clock.Add(5 * time.Second)
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	m := h.fake.MemberUpdates()
	if len(m) != 1 || m[0].QueueSid != qsid || m[0].CallSid != c.sid || m[0].Method != "POST" {
		t.Fatalf("dequeue %+v", m)
	}
	// The caller, already on their way, hears a second of silence at most.
	if w := c.wait(qsid); w.names() != "Pause" {
		t.Fatalf("wait document while connecting: %s", w.names())
	}

	connect := h.twiml(pathOf(t, m[0].URL), c.form("in-progress"))
	dial := connect.child("Dial")
	if connect.names() != "Dial" || dial.attr("timeout") != "20" || !strings.HasPrefix(dial.attr("action"), publicURL+DialedPath+"?") {
		t.Fatalf("connect document %+v", connect)
	}
	client := dial.child("Client")
	if client.child("Identity").text() != "ana" || client.attr("statusCallbackEvent") != "answered completed" {
		t.Fatalf("client %+v", client)
	}
	params := map[string]string{}
	for _, p := range client.Children {
		if p.XMLName.Local == "Parameter" {
			params[p.attr("name")] = p.attr("value")
		}
	}
	if params["conversation"] != c.conv || params["caller"] != caller {
		t.Fatalf("softphone parameters %v", params)
	}

	// The agent's leg answers; then the talk ends.
	leg := twiliotest.CallForm(h.creds.AccountSID, twiliotest.NewCallSid(), caller, "client:ana", "in-progress")
	if w := h.post(pathOf(t, client.attr("statusCallback")), leg); w.Code != http.StatusOK {
		t.Fatalf("leg status: %d", w.Code)
	}
	if c.state().State != stateConnected || !strings.Contains(h.core.line(c.conv, "answered"), "Answered by ana after 1 min 6 s") {
		t.Fatalf("answer not recorded: %+v %q", c.state(), h.core.line(c.conv, "answered"))
	}
	end := h.twiml(pathOf(t, dial.attr("action")), c.form("in-progress", "DialCallStatus", "completed", "DialCallDuration", "95"))
	if end.names() != "Hangup" {
		t.Fatalf("after the talk: %s", end.names())
	}
	if !strings.Contains(h.core.line(c.conv, "call_ended"), "1 min 35 s talking") {
		t.Fatalf("talk time: %q", h.core.line(c.conv, "call_ended"))
	}
	// Twilio's status callbacks follow, some twice, one out of order.
	for _, st := range []string{"completed", "completed", "in-progress", "ringing"} {
		if w := h.post(StatusPath, c.form(st)); w.Code != http.StatusOK {
			t.Fatalf("status %s: %d", st, w.Code)
		}
	}
	if got := h.core.calls(); !slices.Equal(got, []string{"Receive " + c.conv, "CustomerEnded " + c.conv}) {
		t.Fatalf("core calls %v", got)
	}
	if ev := h.core.events(c.conv); !slices.Equal(ev, []string{"accepted", "answered", "call_ended"}) {
		t.Fatalf("transcript events %v", ev)
	}
}

func TestCallerHangsUpWhileWaiting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, _ := h.dial(caller)
	c.wait(twiliotest.NewQueueSid())
	h.clock.Add(42 * time.Second)
	if w := h.post(QueueResultPath, c.form("completed", "QueueResult", "hangup", "QueueTime", "42")); w.Code != http.StatusOK {
		t.Fatalf("queue result: %d", w.Code)
	}
	h.post(StatusPath, c.form("completed"))
	h.post(StatusPath, c.form("completed"))
	if got := h.core.calls(); !slices.Equal(got, []string{"Receive " + c.conv, "Abandon " + c.conv}) {
		t.Fatalf("core calls %v", got)
	}
	if !strings.Contains(h.core.line(c.conv, "abandoned"), "after waiting 42 s") {
		t.Fatalf("abandon line %q", h.core.line(c.conv, "abandoned"))
	}
	// A routing event that raced the hang-up dequeues nobody.
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "ana")); err != nil || len(h.fake.MemberUpdates()) != 0 {
		t.Fatalf("dequeued a caller who left: %v %v", err, h.fake.MemberUpdates())
	}
}

// Only the status callback tells of the hang-up (the action was lost).
func TestStatusCallbackAloneAbandons(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, _ := h.dial(caller)
	h.post(StatusPath, c.form("ringing"))
	h.post(StatusPath, c.form("completed"))
	h.post(QueueResultPath, c.form("completed", "QueueResult", "hangup"))
	if got := h.core.calls(); !slices.Equal(got, []string{"Receive " + c.conv, "Abandon " + c.conv}) {
		t.Fatalf("core calls %v", got)
	}
}

func TestAgentNoAnswerReturnsCallerToTheSamePlace(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a, _ := h.dial(caller)
	h.clock.Add(10 * time.Second)
	b, _ := h.dial(caller2)
	qsid := twiliotest.NewQueueSid()
	a.wait(qsid)
	b.wait(qsid)
	enqueued := h.core.conv(a.conv).enqueued

	if err := h.ch.Observe(h.ctx, h.core.accept(a.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	dequeue := h.fake.MemberUpdates()[0]
	dial := h.twiml(pathOf(t, dequeue.URL), a.form("in-progress")).child("Dial")
	back := h.twiml(pathOf(t, dial.attr("action")), a.form("in-progress", "DialCallStatus", "no-answer", "DialCallDuration", "0"))
	if back.names() != "Enqueue" || back.child("Enqueue").text() != "sb-support" {
		t.Fatalf("after no answer: %s", back.names())
	}
	if got := h.core.calls(); got[len(got)-1] != "Missed "+a.conv+" ana" {
		t.Fatalf("core calls %v", got)
	}
	if cv := h.core.conv(a.conv); cv.state != "waiting" || !cv.enqueued.Equal(enqueued) {
		t.Fatalf("conversation after the miss %+v", cv)
	}
	if p, _ := h.core.Place(h.ctx, a.conv); p.Position != 1 {
		t.Fatalf("place after the miss %d, want 1 (ahead of the later caller)", p.Position)
	}
	if a.state().State != stateWaiting || a.state().Agent != "" {
		t.Fatalf("call state %+v", a.state())
	}
	// The next agent gets the same caller.
	if err := h.ch.Observe(h.ctx, h.core.accept(a.conv, "bo")); err != nil {
		t.Fatal(err)
	}
	if m := h.fake.MemberUpdates(); len(m) != 2 || m[1].CallSid != a.sid || !strings.Contains(m[1].URL, "agent=bo") {
		t.Fatalf("second dequeue %+v", m)
	}
	// A stale connect URL for the agent who missed puts the caller back in line.
	if d := h.twiml(pathOf(t, dequeue.URL), a.form("in-progress")); d.names() != "Enqueue" {
		t.Fatalf("stale connect: %s", d.names())
	}
}

// The announced place never gets worse: a higher-priority arrival moves
// the caller back, and then nothing is said until it is as good again.
func TestAnnouncedPlaceNeverGetsWorse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config, _ *Deps) { c.HoldMusic = "" })
	first := h.core.arrive("support", 0, h.clock.Now().Add(-time.Minute))
	c, doc := h.dial(caller)
	if !strings.Contains(doc.child("Say").text(), "number 2 in line") {
		t.Fatalf("greeting %q", doc.child("Say").text())
	}
	h.core.arrive("support", 10, h.clock.Now()) // a VIP: our caller is third now
	h.clock.Add(61 * time.Second)
	w := c.wait(twiliotest.NewQueueSid())
	if w.names() != "Pause" || w.child("Pause").attr("length") != "60" {
		t.Fatalf("worse place announced: %s %q", w.names(), w.child("Say").text())
	}
	if n := len(h.core.toldTo(c.conv)); n != 1 {
		t.Fatalf("%d lines told, want only the greeting", n)
	}
	h.core.mu.Lock()
	h.core.convs[first].state = "accepted"
	h.core.mu.Unlock()
	h.clock.Add(61 * time.Second)
	w = c.wait(c.state().QueueSid)
	if !strings.Contains(w.child("Say").text(), "number 2 in line") {
		t.Fatalf("as-good place not announced: %s %q", w.names(), w.child("Say").text())
	}
	if c.state().ToldPlace != 2 {
		t.Fatalf("told place %d", c.state().ToldPlace)
	}
}

func TestDequeueBeforeTheWaitURLRedirectsTheCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, _ := h.dial(caller)
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	u := h.fake.CallUpdates()
	if len(u) != 1 || u[0].CallSid != c.sid || !strings.HasPrefix(u[0].URL, publicURL+ConnectPath+"?") || len(h.fake.MemberUpdates()) != 0 {
		t.Fatalf("call updates %+v", u)
	}
}

func TestDequeueRetriedWhenTwilioFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, _ := h.dial(caller)
	c.wait(twiliotest.NewQueueSid())
	ev := h.core.accept(c.conv, "ana")
	h.fake.FailNext(twiliotest.Failure{HTTPStatus: 503, Code: 20503, Message: "Service Unavailable"})
	if err := h.ch.Observe(h.ctx, ev); err == nil {
		t.Fatal("a failed dequeue was not reported for retry")
	}
	if c.state().State != stateWaiting {
		t.Fatalf("state after a failed dequeue %q", c.state().State)
	}
	if err := h.ch.Observe(h.ctx, ev); err != nil {
		t.Fatal(err)
	}
	// The event delivered once more changes nothing.
	if err := h.ch.Observe(h.ctx, ev); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.MemberUpdates()); n != 1 {
		t.Fatalf("%d dequeues", n)
	}
}

func TestAgentClosingTheConversationHangsUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, _ := h.dial(caller)
	c.wait(twiliotest.NewQueueSid())
	if err := h.ch.Observe(h.ctx, h.core.accept(c.conv, "ana")); err != nil {
		t.Fatal(err)
	}
	ev := channel.Event{Type: channel.EventClosed, ConversationID: c.conv, Channel: channel.Voice, Reason: "resolved", AgentID: "ana"}
	if err := h.ch.Observe(h.ctx, ev); err != nil {
		t.Fatal(err)
	}
	if u := h.fake.CallUpdates(); len(u) != 1 || u[0].CallSid != c.sid || u[0].Status != "completed" {
		t.Fatalf("call updates %+v", u)
	}
	// Its own close (reason customer_ended) hangs up nothing more.
	ev.Reason = "customer_ended"
	if err := h.ch.Observe(h.ctx, ev); err != nil || len(h.fake.CallUpdates()) != 1 {
		t.Fatalf("second close: %v %+v", err, h.fake.CallUpdates())
	}
}

func TestQueueFullTurnsIntoACallback(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c, _ := h.dial(caller)
	doc := h.twiml(QueueResultPath, c.form("in-progress", "QueueResult", "queue-full"))
	if doc.names() != "Say Hangup" || !strings.Contains(doc.child("Say").text(), "call you back") {
		t.Fatalf("queue full: %s", doc.names())
	}
	h.post(StatusPath, c.form("completed"))
	if c.state().State != stateCallback || h.core.conv(c.conv).state != "waiting" {
		t.Fatalf("state %q, conversation %q", c.state().State, h.core.conv(c.conv).state)
	}
}
