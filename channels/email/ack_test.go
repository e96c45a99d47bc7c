package email

import (
	"context"
	"fmt"
	"net/mail"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// The acknowledgement promises only what is true: a wait when one is known,
// the opening time outside business hours (never a wait then), else no time.
func TestAckTextTellsTheTruth(t *testing.T) {
	known := channel.Place{Known: true, Low: 10 * time.Minute, High: 22 * time.Minute}
	for _, tc := range []struct {
		desc, opens string
		place       channel.Place
		want, not   string
	}{
		{"open, estimate known", "", known, "usually within 25 minutes", "closed"},
		{"open, no estimate", "", channel.Place{}, "we cannot promise a time", "within"},
		{"closed", "tomorrow at 09:00 CET", known, "closed right now and open again tomorrow at 09:00 CET", "within"},
	} {
		got := ackText("cv_0123456789", tc.place, tc.opens)
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.not) || !strings.Contains(got, "#01234567") {
			t.Errorf("%s: %q", tc.desc, got)
		}
	}
}

// A sender is answered automatically at most AckPerHour times an hour, and
// the count is made with its hour at once: it always expires.
func TestAcknowledgementsPerSenderAreCappedHourly(t *testing.T) {
	e := newEnv(t, nil)
	mb := &e.ch.cfg.Mailboxes[0]
	ctx := context.Background()
	m := &Message{MessageID: "help-1@customer.example", From: &mail.Address{Name: "Ana", Address: "Ana@Customer.example"},
		To: []*mail.Address{{Address: supportAddr}}, Subject: "Help"}
	for i := range DefaultAckPerHour + 2 {
		e.ch.acknowledge(ctx, mb, m, fmt.Sprintf("cv_cap%d", i))
	}
	if n := len(e.smtp.all()); n != DefaultAckPerHour {
		t.Fatalf("%d acknowledgements for %d new conversations of one sender, want %d", n, DefaultAckPerHour+2, DefaultAckPerHour)
	}
	ttl, err := e.rdb.TTL(ctx, e.ch.k.ackCount("ana@customer.example")).Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("the sender's count expires in %v (%v), want within the hour", ttl, err)
	}
	if got, _ := e.rdb.Get(ctx, e.ch.k.ackCount("ana@customer.example")).Int(); got != DefaultAckPerHour+2 {
		t.Fatalf("count %d, want %d", got, DefaultAckPerHour+2)
	}
}

// A mailbox's mail keeps becoming conversations while the SMTP server is
// slow to take their acknowledgements: the reader does not wait for it.
func TestASlowSMTPServerDoesNotHoldTheMailbox(t *testing.T) {
	e := newEnv(t, nil)
	run(t, e.ch, e.svc)
	release := e.smtp.holdMail(t)
	var mails [][]byte
	for i := range 3 {
		mails = append(mails, rawMail([][2]string{{"From", fmt.Sprintf("Customer %d <c%d@customer.example>", i, i)},
			{"To", supportAddr}, {"Subject", "Where is my order?"}, {"Message-ID", fmt.Sprintf("<slow-%d@customer.example>", i)}},
			"It has not arrived."))
	}
	if err := e.dove.Deliver(supportUser, "", mails...); err != nil {
		t.Fatal(err)
	}
	eventually(t, "three conversations while the SMTP server answers nothing", 15*time.Second,
		func() bool { return len(e.conversations()) == 3 })
	if n := len(e.smtp.all()); n != 0 {
		t.Fatalf("%d mails reached a server that answers nothing", n)
	}
	release()
	eventually(t, "the three acknowledgements", 15*time.Second, func() bool { return len(e.smtp.all()) == 3 })
}

// A sender's count that an older version left without its hour (INCR, then
// a crash before EXPIRE) gets the hour at the next count, so the sender is
// answered again after it.
func TestAnAcknowledgementCountWithoutItsHourGetsIt(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	key := e.ch.k.ackCount("ben@customer.example")
	if err := e.rdb.Set(ctx, key, 7, 0).Err(); err != nil {
		t.Fatal(err)
	}
	m := &Message{MessageID: "help-2@customer.example", From: &mail.Address{Address: "ben@customer.example"},
		To: []*mail.Address{{Address: supportAddr}}, Subject: "Help"}
	e.ch.acknowledge(ctx, &e.ch.cfg.Mailboxes[0], m, "cv_legacy")
	ttl, err := e.rdb.TTL(ctx, key).Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("the old count expires in %v (%v), want within the hour", ttl, err)
	}
	if n := len(e.smtp.all()); n != 0 {
		t.Fatalf("%d acknowledgements for a sender over the cap", n)
	}
}

// deliverNew delivers n mails to the env's mailbox, mail i from its own
// customer c<i>@customer.example with Message-ID <tag-i@customer.example>.
func (e *env) deliverNew(tag string, n int) {
	e.t.Helper()
	var mails [][]byte
	for i := range n {
		mails = append(mails, rawMail([][2]string{{"From", fmt.Sprintf("Customer %d <c%d@customer.example>", i, i)},
			{"To", supportAddr}, {"Subject", "Where is my order?"}, {"Message-ID", fmt.Sprintf("<%s-%d@customer.example>", tag, i)}},
			"It has not arrived."))
	}
	if err := e.dove.Deliver(supportUser, "", mails...); err != nil {
		e.t.Fatal(err)
	}
}

// convOf is the conversation of mail i of deliverNew(tag, …).
func (e *env) convOf(tag string, i int) string {
	e.t.Helper()
	conv, err := e.rdb.HGet(context.Background(), e.ch.k.msg(fmt.Sprintf("%s-%d@customer.example", tag, i)), "conv").Result()
	if err != nil {
		e.t.Fatalf("conversation of mail %s-%d: %v", tag, i, err)
	}
	return conv
}

// acked are the numbers of the customers the SMTP server has a mail for.
func (e *env) acked() map[int]bool {
	got := map[int]bool{}
	for _, m := range e.smtp.all() {
		var i int
		if _, err := fmt.Sscanf(m.rcpts[0], "c%d@customer.example", &i); err == nil {
			got[i] = true
		}
	}
	return got
}

// holdConnections takes every SMTP connection of the env's mailbox, as
// agents' replies with the server do, until release. Call it after run:
// the release it registers for the test's end then comes before the
// channel's stop, which waits for the acknowledgements under way.
func (e *env) holdConnections(t testing.TB) (release func()) {
	t.Helper()
	slots := e.ch.smtp[supportAddr].slots
	for range e.ch.cfg.Mailboxes[0].SMTP.MaxConnections {
		if err := slots.Take(context.Background(), 0); err != nil {
			t.Fatal(err)
		}
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			for range e.ch.cfg.Mailboxes[0].SMTP.MaxConnections {
				slots.Put()
			}
		})
	}
	t.Cleanup(release)
	return release
}

// readAll waits until the n mails delivered to the env's new mailbox are
// read: each a conversation, and the checkpoint at the last, so that each
// mail's acknowledgement has been handed on.
func (e *env) readAll(t testing.TB, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d mails read, each a conversation", n), 30*time.Second,
		func() bool { return len(e.conversations()) == n && e.checkpoint() == n })
}

// readWhileHeld waits until the n mails delivered are read while the
// mailbox's connections are held, and checks that no acknowledgement has
// given up meanwhile: the reader did not wait for one, the ackAtOnce under
// way wait for a connection, nothing was sent.
func (e *env) readWhileHeld(t testing.TB, logs *logRecorder, n int) {
	t.Helper()
	e.readAll(t, n)
	if ended := logs.said("email: acknowledgement", "conversation"); len(ended) > 0 {
		t.Fatalf("the mailbox was read only after acknowledgements of %v gave up", ended)
	}
	slots := e.ch.smtp[supportAddr].slots
	eventually(t, "the acknowledgements under way waiting for a connection", 5*time.Second,
		func() bool { _, behind := slots.Waiting(); return behind == ackAtOnce })
	if k := len(e.smtp.all()); k != 0 {
		t.Fatalf("%d mails sent while every connection was held", k)
	}
}

// While agents' replies keep every SMTP connection of a mailbox busy, its
// mail still becomes conversations, more than ackAtOnce of them: their
// acknowledgements wait behind the replies, the reader does not wait for
// them. Once the connection is free they go out, within their time, except
// the one whose conversation an agent answered meanwhile.
func TestAMailboxReadsOnWhileRepliesHoldItsConnections(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].SMTP.MaxConnections = 1 })
	logs := e.recordLogs()
	run(t, e.ch, e.svc)
	release := e.holdConnections(t)
	const n = ackAtOnce + 4
	e.deliverNew("busy", n)
	e.readWhileHeld(t, logs, n)

	answered := e.convOf("busy", 1) // under way, waiting for the connection
	e.core.mu.Lock()
	e.core.answered = map[string]bool{answered: true}
	e.core.mu.Unlock()
	release()
	eventually(t, "the other acknowledgements sent", 15*time.Second, func() bool { return len(e.smtp.all()) == n-1 })
	got := e.acked()
	for i := range n {
		if got[i] != (i != 1) {
			t.Errorf("customer %d acknowledged: %v", i, got[i])
		}
	}
	if said := logs.said("email: acknowledgement", "conversation"); !slices.Equal(said, []string{answered}) {
		t.Fatalf("acknowledgements not sent: %v, want only %s (answered)", said, answered)
	}
}

// When more acknowledgements wait than a mailbox's queue holds, the newest
// are dropped, each logged with its conversation, and the mail behind them
// still becomes conversations; the queued ones go out once there is a
// connection.
func TestAFullAcknowledgementQueueDropsButNeverHoldsTheMailbox(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].SMTP.MaxConnections = 1 })
	logs := e.recordLogs()
	e.ch.ackQueues[supportAddr].limit = 2
	run(t, e.ch, e.svc)
	release := e.holdConnections(t)
	const n = ackAtOnce + 2 + 3 // under way, queued, dropped
	e.deliverNew("full", n)
	e.readAll(t, n)
	var want []string
	for i := n - 3; i < n; i++ {
		want = append(want, e.convOf("full", i))
	}
	if dropped := logs.said("email: acknowledgement dropped: too many waiting", "conversation"); !slices.Equal(dropped, want) {
		t.Fatalf("dropped %v, want the last three, %v", dropped, want)
	}
	if said := logs.said("email: acknowledgement", "conversation"); !slices.Equal(said, want) {
		t.Fatalf("acknowledgements ended %v before the connection was free, want only the dropped %v", said, want)
	}
	release()
	eventually(t, "the acknowledgements under way and queued sent", 15*time.Second, func() bool { return len(e.smtp.all()) == n-3 })
	got := e.acked()
	for i := range n {
		if got[i] != (i < n-3) {
			t.Errorf("customer %d acknowledged: %v", i, got[i])
		}
	}
}

// An acknowledgement's time counts from when its mail was stored, its wait
// in the queue included: one queued behind ackAtOnce that wait out their
// time is dropped with them, not sent late once a connection frees.
func TestAQueuedAcknowledgementIsNotSentLate(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].SMTP.MaxConnections = 1 })
	logs := e.recordLogs()
	run(t, e.ch, e.svc)
	release := e.holdConnections(t)
	const n = ackAtOnce + 1
	e.deliverNew("late", n)
	e.readWhileHeld(t, logs, n)
	ended := func() int { return len(logs.said("email: acknowledgement", "conversation")) }
	eventually(t, "the acknowledgements under way out of time", 2*ackTimeout, func() bool { return ended() >= ackAtOnce })
	// The queued one was stored moments after them: its time is up too.
	// (Had its time started with its turn, it would wait another
	// ackTimeout, and take the connection freed below.)
	eventually(t, "the queued acknowledgement out of time as well", 3*time.Second, func() bool { return ended() == n })
	if said := logs.said("email: acknowledgement", "conversation"); !slices.Contains(said, e.convOf("late", n-1)) {
		t.Fatalf("acknowledgements ended: %v, without the queued one's", said)
	}
	release()
	time.Sleep(300 * time.Millisecond)
	if k := len(e.smtp.all()); k != 0 {
		t.Fatalf("%d acknowledgements sent after their time", k)
	}
}

// A queued acknowledgement whose time is up when its turn comes is dropped
// and logged without counting against the sender's hourly limit.
func TestAnAcknowledgementWhoseTurnComesTooLateIsDropped(t *testing.T) {
	e := newEnv(t, nil)
	logs := e.recordLogs()
	e.ch.sendQueued(ackJob{ctx: context.Background(), mb: &e.ch.cfg.Mailboxes[0], deadline: time.Now().Add(-time.Millisecond),
		ack: ackMail{convID: "cv_late", to: "ana@customer.example", subject: "Help"}})
	if said := logs.said("email: acknowledgement dropped: its turn came too late", "conversation"); !slices.Equal(said, []string{"cv_late"}) {
		t.Fatalf("logged %v, want cv_late dropped", said)
	}
	if k := len(e.smtp.all()); k != 0 {
		t.Fatalf("%d mails sent", k)
	}
	if n, _ := e.rdb.Exists(context.Background(), e.ch.k.ackCount("ana@customer.example")).Result(); n != 0 {
		t.Fatal("a dropped acknowledgement counted against the sender")
	}
}

// An acknowledgement that waited in the queue while the ones before it
// were with a slow server is not sent when an agent has answered its
// conversation meanwhile, though it then finds a connection free at once.
func TestAQueuedAcknowledgementOfAnAnsweredConversationIsNotSent(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].SMTP.MaxConnections = ackAtOnce })
	logs := e.recordLogs()
	run(t, e.ch, e.svc)
	release := e.smtp.holdMail(t)
	const n = ackAtOnce + 1
	e.deliverNew("moot", n)
	e.readAll(t, n)
	eventually(t, "the acknowledgements under way with the server", 10*time.Second, func() bool { return e.smtp.connections() == ackAtOnce })
	answered := e.convOf("moot", n-1) // queued
	e.core.mu.Lock()
	e.core.answered = map[string]bool{answered: true}
	e.core.mu.Unlock()
	release()
	eventually(t, "the queued acknowledgement skipped", 15*time.Second,
		func() bool {
			return len(logs.said("email: acknowledgement not sent: an agent answered first", "conversation")) == 1
		})
	eventually(t, "the acknowledgements under way sent", 15*time.Second, func() bool { return len(e.smtp.all()) == ackAtOnce })
	if said := logs.said("email: acknowledgement", "conversation"); !slices.Equal(said, []string{answered}) {
		t.Fatalf("acknowledgements not sent: %v, want only %s (answered)", said, answered)
	}
	if got := e.acked(); got[n-1] || len(got) != ackAtOnce {
		t.Fatalf("acknowledged %v, want all but customer %d", got, n-1)
	}
}

// channelGoroutines are the stacks of goroutines running the channel's
// code: its readers, acknowledgement senders and SMTP connections.
func channelGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, f := range []string{"email.(*Channel).", "email.(*ackQueue).", "email.(*smtpConn).", "email.(*smtpPool).", "email.(*reader)."} {
			if strings.Contains(g, f) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// A gateway stopping drops the acknowledgements still queued (logged with
// their conversations) and Run returns once those under way are done;
// no goroutine of the channel is left.
func TestStoppingWaitsForAcknowledgementsUnderWayAndDropsTheQueued(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].SMTP.MaxConnections = 1 })
	logs := e.recordLogs()
	// Those of tests before, saying goodbye to their servers, end first.
	eventually(t, "no goroutine of a channel before this one runs", 10*time.Second, func() bool { return len(channelGoroutines()) == 0 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { _ = e.ch.Run(ctx); close(done) }()
	release := e.holdConnections(t)
	const n = ackAtOnce + 4
	e.deliverNew("stop", n)
	e.readWhileHeld(t, logs, n)

	cancel()
	eventually(t, "the queued acknowledgements dropped", 10*time.Second,
		func() bool {
			return len(logs.said("email: acknowledgements dropped: the gateway is stopping", "conversations")) == 1
		})
	var queued []string
	for i := ackAtOnce; i < n; i++ {
		queued = append(queued, e.convOf("stop", i))
	}
	if said := logs.said("email: acknowledgements dropped: the gateway is stopping", "conversations"); said[0] != fmt.Sprint(queued) {
		t.Fatalf("dropped %s, want the queued %v", said[0], queued)
	}
	time.Sleep(200 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("Run returned with acknowledgements under way")
	default:
	}
	release()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return once its acknowledgements were sent")
	}
	got := e.acked()
	for i := range n {
		if got[i] != (i < ackAtOnce) {
			t.Errorf("customer %d acknowledged: %v", i, got[i])
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for g := channelGoroutines(); len(g) > 0; g = channelGoroutines() {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines of the channel left after Run:\n%s", strings.Join(g, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
