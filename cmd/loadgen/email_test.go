package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
)

// A customer's address names its contact, and only within its own run.
func TestCustomerAddressNamesItsContact(t *testing.T) {
	for _, i := range []int{0, 7, 12345} {
		addr := customerAddress("0a1b2c3d", i)
		if got := contactOfAddress("0a1b2c3d", addr); got != i {
			t.Errorf("contactOfAddress(%q) = %d, want %d", addr, got, i)
		}
		if got := contactOfAddress("0a1b2c3d", "<"+strings.ToUpper(addr)+">"); got != i {
			t.Errorf("in brackets and upper case: %d, want %d", got, i)
		}
	}
	for _, addr := range []string{
		customerAddress("ffffffff", 3), // another run
		"c3.0a1b2c3d@example.com",      // another domain
		"support@loadgen.test",
		"c-1.0a1b2c3d@" + customerDomain,
		"cx.0a1b2c3d@" + customerDomain,
		"not an address",
	} {
		if got := contactOfAddress("0a1b2c3d", addr); got != -1 {
			t.Errorf("contactOfAddress(%q) = %d, want -1", addr, got)
		}
	}
}

// The mail a customer writes is well formed, comes from the customer's
// address, and starts subject and text with the tag an offer's preview
// is matched by.
func TestCustomerMailIsWellFormed(t *testing.T) {
	raw := customerMail("0a1b2c3d", 42, time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	from, err := r.Header.AddressList("From")
	if err != nil || len(from) != 1 || contactOfAddress("0a1b2c3d", from[0].Address) != 42 {
		t.Fatalf("From: %v %v", from, err)
	}
	subject, _ := r.Header.Subject()
	g := &gwRun{tag: "0a1b2c3d", contacts: make([]*contact, 43)}
	g.contacts[42] = &contact{i: 42}
	g.shared.Store(&g.contacts)
	if g.contactOf(subject) != g.contacts[42] {
		t.Fatalf("subject %q does not name contact 42", subject)
	}
	text, err := plainText(bytes.NewReader(raw))
	if err != nil || g.contactOf(text) != g.contacts[42] {
		t.Fatalf("text %q (%v) does not name contact 42", text, err)
	}
}

// The answers a gateway sends are read as a person's mail client would:
// decoded, whatever the transfer encoding, and only the plain text.
func TestPlainTextDecodesTheAnswer(t *testing.T) {
	qp := "From: support@loadgen.test\r\nTo: c1.t@" + customerDomain + "\r\nSubject: Re\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"hello from lg=\r\n-agent-1 =E2=80=94 thanks\r\n" +
		"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html only</p>\r\n--b--\r\n"
	text, err := plainText(strings.NewReader(qp))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "hello from lg-agent-1 — thanks") || strings.Contains(text, "html only") {
		t.Fatalf("text = %q", text)
	}
}

// An answer is told apart by its text: the agent's reply is timed as a
// reply, anything else to a customer as the acknowledgement, once.
func TestEmailAnswerTellsReplyFromAcknowledgement(t *testing.T) {
	g := &gwRun{tag: "0a1b2c3d", contacts: []*contact{{i: 0, convs: map[string]bool{}}}, replies: map[string]time.Time{},
		convOf: map[string]*contact{}}
	c := g.contacts[0]
	c.sched = time.Now().Add(-time.Second)
	g.shared.Store(&g.contacts)
	g.convOf["cv_1"] = c
	g.replies["cv_1"] = time.Now().Add(-20 * time.Millisecond)

	addr := customerAddress(g.tag, 0)
	g.emailAnswer(addr, "We have your message (reference cv_1).")
	g.emailAnswer(addr, "We have your message (reference cv_1).") // a second notice is not a second ack
	g.emailAnswer(addr, "hello from lg0a1b2c3d-a1")
	g.emailAnswer(customerAddress("ffffffff", 0), "hello from someone else's run")
	if len(g.ackTextLat) != 1 || g.ackTextLat[0] < time.Second {
		t.Fatalf("acknowledgements timed: %v", g.ackTextLat)
	}
	if len(g.replyLat) != 1 || g.replyLat[0] < 20*time.Millisecond {
		t.Fatalf("replies timed: %v", g.replyLat)
	}
}

// An SMS to a customer is the agent's reply by its text, the
// acknowledgement when it asks for no status callback, and a customer
// answered without an acknowledgement is settled for -await-replies.
func TestSMSAnswerTellsReplyFromAcknowledgement(t *testing.T) {
	g := &gwRun{contacts: []*contact{{i: 0, channel: "sms"}, {i: 1, channel: "sms"}}, replies: map[string]time.Time{},
		convOf: map[string]*contact{}}
	g.shared.Store(&g.contacts)
	for i, c := range g.contacts {
		c.sched = time.Now().Add(-time.Second)
		conv := fmt.Sprintf("cv_%d", i)
		g.convOf[conv] = c
		g.replies[conv] = time.Now()
	}
	g.smsReply("+15550000000", "How did we do? Reply 1-5.", true) // an outbox message, not the acknowledgement
	time.Sleep(5 * time.Millisecond)
	g.smsReply("+15550000000", "Thanks for your message.", false)
	g.smsReply("+15550000000", "Thanks for your message.", false) // a second notice is not a second ack
	if len(g.ackTextLat) != 1 || g.ackTextLat[0] < time.Second+5*time.Millisecond {
		t.Fatalf("acknowledgements timed: %v", g.ackTextLat)
	}
	if g.repliesArrived(time.Now().Add(-time.Minute)) {
		t.Fatal("settled while no reply has arrived")
	}
	g.smsReply("+15550000000", "hello from a1", true)
	g.smsReply("+15550000001", "hello from a2", true) // answered, never acknowledged
	if len(g.replyLat) != 2 {
		t.Fatalf("replies timed: %v", g.replyLat)
	}
	if !g.repliesArrived(time.Now().Add(-time.Minute)) {
		t.Fatal("not settled once both customers had their answer")
	}
}
