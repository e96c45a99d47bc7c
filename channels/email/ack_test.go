package email

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
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
