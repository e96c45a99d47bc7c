package email

import (
	"context"
	"fmt"
	"testing"
	"time"
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
		if err := e.ch.submit(context.Background(), mb, []string{"ana@customer.example"}, testMail(i)); err != nil {
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
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(0)); err != nil {
		t.Fatal(err)
	}
	e.smtp.dropAll()
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(1)); err != nil {
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
		if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(i)); err != nil {
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
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(0)); err != nil {
		t.Fatal(err)
	}
	err := e.ch.submit(ctx, mb, []string{"gone@customer.example"}, testMail(1))
	if err == nil {
		t.Fatal("a refused recipient was accepted")
	}
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(2)); err != nil {
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
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(0)); err != nil {
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
	if err := e.ch.submit(ctx, mb, []string{"ana@customer.example"}, testMail(1)); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	idle = len(p.idle)
	p.mu.Unlock()
	if idle != 0 || e.smtp.connections() != 2 {
		t.Fatalf("after stopping: %d kept, %d connections", idle, e.smtp.connections())
	}
}
