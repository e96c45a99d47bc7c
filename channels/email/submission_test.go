package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

func testMail(i int) []byte {
	return fmt.Appendf(nil, "From: support@shop.example\r\nTo: ana@customer.example\r\nSubject: reply %d\r\n"+
		"Message-ID: <reply-%d@shop.example>\r\n\r\nhello %d\r\n", i, i, i)
}

// Mails sent one after another share one submission connection instead of
// opening one each.
func TestMailsShareOneSubmissionConnection(t *testing.T) {
	e := newEnv(t, nil)
	mb := &e.ch.cfg.Mailboxes[0]
	for i := range 3 {
		if err := e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(i), "cv_test"); err != nil {
			t.Fatalf("mail %d: %v", i, err)
		}
	}
	if n := len(e.smtp.all()); n != 3 {
		t.Fatalf("%d mails delivered, want 3", n)
	}
	if n := e.smtp.connections(); n != 1 {
		t.Fatalf("%d connections for 3 mails, want 1", n)
	}
}

// A kept connection the server dropped meanwhile is replaced, and the mail
// goes out once.
func TestADroppedSubmissionConnectionIsReplacedWithoutSendingTwice(t *testing.T) {
	e := newEnv(t, nil)
	mb := &e.ch.cfg.Mailboxes[0]
	ctx := context.Background()
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(0), "cv_test"); err != nil {
		t.Fatal(err)
	}
	e.smtp.dropAll()
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(1), "cv_test"); err != nil {
		t.Fatalf("after the server dropped the kept connection: %v", err)
	}
	mails := e.smtp.all()
	if len(mails) != 2 {
		t.Fatalf("%d mails delivered, want 2 (each once)", len(mails))
	}
	if n := e.smtp.connections(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// A connection unused for longer than smtpIdle is not used again: servers
// drop idle clients, and a dropped one found at send time costs a dial anyway.
func TestAnOldSubmissionConnectionIsNotKept(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Now()
	e.ch.now = func() time.Time { return now }
	mb := &e.ch.cfg.Mailboxes[0]
	ctx := context.Background()
	for i, after := range []time.Duration{0, smtpIdle - time.Second, smtpIdle + time.Second} {
		now = now.Add(after)
		if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(i), "cv_test"); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.smtp.connections(); n != 2 {
		t.Fatalf("%d connections, want 2: the second mail reuses the first's, the third comes too late", n)
	}
}

// A refused recipient is the server's final word, the connection is not
// kept in a half-made transaction, and the next mail still goes out.
func TestARefusedMailLeavesTheNextOneUnharmed(t *testing.T) {
	e := newEnv(t, nil)
	mb := &e.ch.cfg.Mailboxes[0]
	ctx := context.Background()
	e.smtp.mu.Lock()
	e.smtp.reject["gone@customer.example"] = true
	e.smtp.mu.Unlock()
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(0), "cv_test"); err != nil {
		t.Fatal(err)
	}
	err := e.ch.submit(ctx, mb, []string{"gone@customer.example"}, testMail(1), "cv_test")
	if err == nil {
		t.Fatal("a refused recipient was accepted")
	}
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(2), "cv_test"); err != nil {
		t.Fatalf("the mail after a refusal: %v", err)
	}
	if n := len(e.smtp.all()); n != 2 {
		t.Fatalf("%d mails delivered, want 2", n)
	}
}

// Once the channel stops, kept connections are closed and none is kept
// again; a mail sent later still goes out on its own connection.
func TestStoppingClosesKeptSubmissionConnections(t *testing.T) {
	e := newEnv(t, nil)
	mb := &e.ch.cfg.Mailboxes[0]
	ctx := context.Background()
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(0), "cv_test"); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = e.ch.Run(runCtx); close(done) }()
	cancel()
	<-done
	p := e.ch.smtp[mb.Address]
	p.mu.Lock()
	idle, closed := len(p.idle), p.closed
	p.mu.Unlock()
	if idle != 0 || !closed {
		t.Fatalf("after Run: %d kept, closed=%v", idle, closed)
	}
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(1), "cv_test"); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	idle = len(p.idle)
	p.mu.Unlock()
	if idle != 0 || e.smtp.connections() != 2 {
		t.Fatalf("after stopping: %d kept, %d connections", idle, e.smtp.connections())
	}
}

// No more than SMTP.MaxConnections mails of a mailbox are with the server
// at once; the others wait and then reuse those connections.
func TestAMailboxHoldsAtMostItsMaxConnections(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].SMTP.MaxConnections = 2 })
	release := e.smtp.holdMail(t)
	mb := &e.ch.cfg.Mailboxes[0]
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			errs <- e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(i), "cv_test")
		}()
	}
	eventually(t, "two connections with the server", 5*time.Second, func() bool { return e.smtp.connections() == 2 })
	release()
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n, c := len(e.smtp.all()), e.smtp.connections(); n != 4 || c != 2 {
		t.Fatalf("%d mails on %d connections, want 4 on 2", n, c)
	}
}

// max_connections is a positive bound; zero picks the default.
func TestMaxConnectionsIsChecked(t *testing.T) {
	t.Setenv("TEST_IMAP_PASSWORD", "x")
	for _, tc := range []struct {
		n, want int
		bad     bool
	}{{0, DefaultMaxConnections, false}, {12, 12, false}, {-1, 0, true}, {1000, 0, true}} {
		cfg := mailboxConfig(143, "127.0.0.1:25")
		cfg.Mailboxes[0].SMTP.MaxConnections = tc.n
		err := cfg.check()
		switch {
		case tc.bad && (err == nil || !strings.Contains(err.Error(), "max_connections")):
			t.Errorf("max_connections %d: got %v, want an error naming it", tc.n, err)
		case !tc.bad && err != nil:
			t.Errorf("max_connections %d: %v", tc.n, err)
		case !tc.bad && cfg.Mailboxes[0].SMTP.MaxConnections != tc.want:
			t.Errorf("max_connections %d became %d, want %d", tc.n, cfg.Mailboxes[0].SMTP.MaxConnections, tc.want)
		}
	}
}

// A submission ends with its context, even against a server that answers
// nothing (go-smtp sets minutes-long deadlines of its own per command), and
// that counts as a temporary failure. The mailbox's connection slot is
// free again afterwards.
func TestASubmissionEndsWithItsContext(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].SMTP.MaxConnections = 1 })
	mb := &e.ch.cfg.Mailboxes[0]
	// A kept connection first, so both the kept and the new path are held.
	if err := e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(0), "cv_test"); err != nil {
		t.Fatal(err)
	}
	release := e.smtp.holdMail(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(1), "cv_test") }()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, channel.ErrTemporary) {
			t.Fatalf("submission to a silent server: %v, want a temporary failure", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a submission outlived its context by 20 s")
	}
	release()
	if err := e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(2), "cv_test"); err != nil {
		t.Fatalf("the next mail, once the server answers: %v", err)
	}
}

// A reply that finds every connection of its mailbox in use for longer
// than it may wait is answered busy, which the outbox puts off without
// using an attempt, and it leaves the mailbox's slots as they were.
func TestAReplyFindingEveryConnectionInUseIsAnsweredBusy(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].SMTP.MaxConnections = 1 })
	mb := &e.ch.cfg.Mailboxes[0]
	release := e.smtp.holdMail(t)
	first := make(chan error, 1)
	go func() {
		first <- e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(0), "cv_test")
	}()
	eventually(t, "the first mail with the server", 5*time.Second, func() bool { return e.smtp.connections() == 1 })
	start := time.Now()
	err := e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(1), "")
	var busy *channel.BusyError
	if !errors.As(err, &busy) || !errors.Is(err, channel.ErrTemporary) {
		t.Fatalf("second mail while the only connection is in use: %v, want busy", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("answered busy after %s", waited)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(2), ""); err != nil {
		t.Fatalf("the next mail, with the connection free: %v", err)
	}
	if n := len(e.smtp.all()); n != 2 {
		t.Fatalf("%d mails delivered, want 2 (the busy one was not sent)", n)
	}
}

// An agent's reply that finds its mailbox's only connection in use is put
// off by the outbox without using an attempt, and goes out once the
// connection is free: the whole path, from Reply through Send to the
// SMTP server.
func TestAReplyWaitsOutABusyMailboxWithoutUsingAnAttempt(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		f := false
		c.AutoAck = &f
		c.Mailboxes[0].SMTP.MaxConnections = 1
	})
	ctx := context.Background()
	r, err := e.core.Receive(ctx, channel.Inbound{Channel: channel.Email, From: "ana@customer.example", To: supportAddr, Text: "hi", ProviderID: "busy1@customer.example"})
	if err != nil {
		t.Fatal(err)
	}
	slots := e.ch.smtp[supportAddr].slots
	if err := slots.Take(ctx, 0); err != nil { // another mail holds the only connection
		t.Fatal(err)
	}
	run(t, e.ch, e.svc)
	en, err := e.svc.Reply(ctx, r.ConversationID, "agent-1", "hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reply put off", 10*time.Second, func() bool {
		m, _ := e.svc.Message(ctx, en.MessageID)
		return m.Deferrals >= 1
	})
	slots.Put()
	eventually(t, "the reply sent", 10*time.Second, func() bool {
		m, _ := e.svc.Message(ctx, en.MessageID)
		return m.Status == "sent" && m.Attempts == 1
	})
	if n := len(e.smtp.all()); n != 1 {
		t.Fatalf("%d mails delivered, want 1", n)
	}
}

// When the mailbox's connection frees up, an agent's reply goes before an
// acknowledgement that waited longer.
func TestAReplyGoesBeforeAWaitingAcknowledgement(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].SMTP.MaxConnections = 1 })
	mb := &e.ch.cfg.Mailboxes[0]
	slots := e.ch.smtp[mb.Address].slots
	release := e.smtp.holdMail(t)
	errs := make(chan error, 3)
	submit := func(i int, ackFor string) {
		go func() {
			errs <- e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(i), ackFor)
		}()
	}
	submit(0, "")
	eventually(t, "the first mail with the server", 5*time.Second, func() bool { return e.smtp.connections() == 1 })
	submit(1, "cv_test") // an acknowledgement
	eventually(t, "the acknowledgement waiting", 5*time.Second, func() bool { r, a := slots.Waiting(); return r == 0 && a == 1 })
	submit(2, "") // a reply, after it
	eventually(t, "the reply waiting", 5*time.Second, func() bool { r, a := slots.Waiting(); return r == 1 && a == 1 })
	release()
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	for _, m := range e.smtp.all() {
		order = append(order, string(m.raw[bytes.Index(m.raw, []byte("Subject: "))+9:][:7]))
	}
	if strings.Join(order, ",") != "reply 0,reply 2,reply 1" {
		t.Fatalf("mails reached the server in the order %v; want the waiting reply (2) before the acknowledgement (1)", order)
	}
}

// An acknowledgement that waited for a connection until an agent had
// answered is not sent.
func TestAnAcknowledgementHeldBackUntilAnAgentAnsweredIsNotSent(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].SMTP.MaxConnections = 1 })
	mb := &e.ch.cfg.Mailboxes[0]
	slots := e.ch.smtp[mb.Address].slots
	e.core.mu.Lock()
	e.core.answered = map[string]bool{"cv_held": true}
	e.core.mu.Unlock()
	release := e.smtp.holdMail(t)
	first, ack := make(chan error, 1), make(chan error, 1)
	go func() {
		first <- e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(0), "")
	}()
	eventually(t, "the first mail with the server", 5*time.Second, func() bool { return e.smtp.connections() == 1 })
	go func() {
		ack <- e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(1), "cv_held")
	}()
	eventually(t, "the acknowledgement waiting", 5*time.Second, func() bool { _, a := slots.Waiting(); return a == 1 })
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-ack; !errors.Is(err, channel.ErrAnswered) {
		t.Fatalf("the acknowledgement held back: %v, want not sent (answered)", err)
	}
	// The skipped acknowledgement gave its connection back.
	if err := e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(2), ""); err != nil {
		t.Fatalf("the next reply on the mailbox's one connection: %v", err)
	}
	if n := len(e.smtp.all()); n != 2 {
		t.Fatalf("%d mails delivered, want 2 (not the acknowledgement)", n)
	}
}
