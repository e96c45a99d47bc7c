package email

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
)

// The whole path against Dovecot: a varied inbox becomes the right
// conversations; acknowledgements go only to people; an agent's reply is a
// proper email in the thread; the customer's answer days later, after the
// conversation was closed, reopens it; a bounce of our reply lands on it as
// a failed delivery; everything is flagged \Seen and checkpointed.
func TestDovecotEndToEnd(t *testing.T) {
	e := newEnv(t, nil)
	e.core.estimate = channel.Place{Known: true, Low: 10 * time.Minute, High: 25 * time.Minute}
	ctx := context.Background()
	files := []string{"win1252.eml", "attachments_html_only.eml", "auto_reply.eml", "list_message.eml", "forwarded_no_message_id.eml", "broken.eml"}
	var msgs [][]byte
	first := rawMail([][2]string{{"From", "Ana Lima <ana@example.com>"}, {"To", supportAddr}, {"Subject", "Order 1234 arrived broken"},
		{"Message-ID", "<ana-1@example.com>"}, {"Date", "Mon, 30 Nov 2026 09:00:00 +0000"}}, "The mug is broken.")
	msgs = append(msgs, first)
	for _, f := range files {
		msgs = append(msgs, readMail(t, f))
	}
	if err := e.dove.Deliver(supportUser, "", msgs...); err != nil {
		t.Fatal(err)
	}
	run(t, e.ch, e.svc)
	eventually(t, "the inbox imported", 20*time.Second, func() bool { return e.checkpoint() == len(msgs) })

	// Seven mails; six customers (the broken one has no readable sender).
	convs := e.conversations()
	if len(convs) != 7 {
		t.Fatalf("conversations = %d, want 7", len(convs))
	}
	ana, err := e.svc.FindCustomer(ctx, channel.Email, "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	hist, err := e.svc.History(ctx, ana.ID, 0, 10)
	if err != nil || len(hist.Conversations) != 1 {
		t.Fatalf("ana's history %+v %v", hist, err)
	}
	anaConv := hist.Conversations[0].ID

	// Acknowledgements: Ana, Zoë, Carla, Fay (person-written, not the
	// auto-reply, the list, or the unreadable sender) — each once, automatic.
	eventually(t, "acknowledgements", 5*time.Second, func() bool { return len(e.smtp.all()) == 4 })
	for _, s := range e.smtp.all() {
		m, err := Parse(s.raw, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if m.AutoSubmitted != "auto-replied" || !strings.Contains(m.Text, "within 25 minutes") {
			t.Errorf("ack to %v: auto-submitted %q text %q", s.rcpts, m.AutoSubmitted, m.Text)
		}
		if s.rcpts[0] == "eve@example.com" || s.rcpts[0] == "news@lists.example" {
			t.Errorf("acknowledged a robot: %v", s.rcpts)
		}
	}

	// The agent answers Ana: a proper reply in the thread.
	if _, err := e.svc.Reply(ctx, anaConv, "agent-1", "Sorry! A new mug is on its way.", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reply sent", 10*time.Second, func() bool { return len(e.smtp.all()) == 5 })
	sent := e.smtp.all()[4]
	reply, err := Parse(sent.raw, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Subject != "Re: Order 1234 arrived broken" || len(reply.InReplyTo) != 1 || reply.InReplyTo[0] != "ana-1@example.com" ||
		!strings.HasPrefix(reply.MessageID, "sb.") || reply.AutoSubmitted != "" {
		t.Fatalf("reply headers: subject %q in-reply-to %v id %q", reply.Subject, reply.InReplyTo, reply.MessageID)
	}
	if !strings.Contains(reply.Text, "A new mug is on its way.") || !strings.Contains(reply.Text, "> The mug is broken.") || reply.HTML == "" {
		t.Fatalf("reply body: %q (html %d bytes)", reply.Text, len(reply.HTML))
	}
	if !strings.Contains(string(sent.raw), "Reply-To: \"Shop Support\" <support+"+anaConv+"@shop.example>") {
		t.Errorf("no per-conversation reply address in\n%s", sent.raw[:400])
	}

	// Closed; days later Ana answers our reply: the conversation reopens.
	if _, err := e.svc.Close(ctx, anaConv, "agent-1", "resolved"); err != nil {
		t.Fatal(err)
	}
	later := rawMail([][2]string{{"From", "ana@example.com"}, {"To", supportAddr}, {"Subject", "Re: Order 1234 arrived broken"},
		{"Message-ID", "<ana-2@example.com>"}, {"In-Reply-To", "<" + reply.MessageID + ">"},
		{"References", "<ana-1@example.com> <" + reply.MessageID + ">"}}, "The new one is broken too.\n\nOn Mon, Shop wrote:\n> Sorry!")
	// Bruno-like client that rewrote References but kept the reply address.
	rewritten := rawMail([][2]string{{"From", "Carla <carla@example.net>"}, {"To", "support+" + anaConv + "@shop.example"},
		{"Subject", "something else"}, {"Message-ID", "<carla-2@example.net>"}}, "Am I in Ana's thread?")
	bounce := strings.ReplaceAll(string(readMail(t, "dsn_bounce.eml")), "BOUNCED_ID", reply.MessageID)
	if err := e.dove.Deliver(supportUser, "", later, rewritten, []byte(bounce)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the answers imported", 20*time.Second, func() bool { return e.checkpoint() == len(msgs)+3 })
	conv, err := e.svc.Conversation(ctx, anaConv)
	if err != nil {
		t.Fatal(err)
	}
	if conv.State != conversation.StateQueued {
		t.Errorf("Ana's conversation after her late answer: %s, want queued (reopened)", conv.State)
	}
	got := e.customerMessages(anaConv)
	if len(got) != 2 || got[1].Text != "The new one is broken too." {
		t.Fatalf("Ana's messages: %+v", got)
	}
	if len(e.conversations()) != 7 {
		t.Errorf("conversations = %d after the answers, want still 7 (no bounce or stranger thread)", len(e.conversations()))
	}
	// The bounce is a failed delivery on the reply.
	tr, _ := e.svc.Transcript(ctx, anaConv, "", 0)
	failed := false
	for _, en := range tr {
		if en.Type == conversation.EntryStatus && en.Status == "failed" && en.ErrorCode == "5.1.1" {
			failed = true
		}
	}
	if !failed {
		t.Errorf("no failed delivery in %+v", tr)
	}
	// Carla's mail to Ana's reply address stayed with Carla.
	carla, _ := e.svc.FindCustomer(ctx, channel.Email, "carla@example.net")
	ch, _ := e.svc.History(ctx, carla.ID, 0, 10)
	if len(ch.Conversations) != 1 || len(e.customerMessages(ch.Conversations[0].ID)) != 2 {
		t.Errorf("carla: %+v", ch)
	}

	// Everything flagged, nothing left behind.
	flags, err := e.dove.Flags(supportUser)
	if err != nil {
		t.Fatal(err)
	}
	for uid, f := range flags {
		if !hasSeen(f) {
			t.Errorf("uid %d not \\Seen", uid)
		}
	}

	// The console's view: sanitized HTML, folded history, original kept.
	zc := customerConv(t, e, "carla@example.net")
	th, err := e.ch.Thread(ctx, zc)
	if err != nil {
		t.Fatal(err)
	}
	if len(th.Mails) != 2 || th.Cc != `"Dan" <dan@example.net>` || th.ReplySubject != "Re: Invoice and photo" {
		t.Fatalf("thread = %+v", th)
	}
	if html := th.Mails[0].HTML; strings.Contains(html, "<script") || strings.Contains(html, "onerror") || html == "" {
		t.Errorf("html = %q", html)
	}
	srv := echo.New()
	e.ch.Register(srv)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/email/conversations/"+anaConv, nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"quoted":"On Mon, Shop wrote:\n\u003e Sorry!"`) {
		t.Errorf("GET thread: %d %s", rec.Code, rec.Body.String())
	}
}

func customerConv(t *testing.T, e *env, addr string) string {
	t.Helper()
	c, err := e.svc.FindCustomer(context.Background(), channel.Email, addr)
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.svc.History(context.Background(), c.ID, 0, 10)
	if err != nil || len(h.Conversations) == 0 {
		t.Fatalf("history of %s: %+v %v", addr, h, err)
	}
	return h.Conversations[0].ID
}

// IDLE: new mail arrives within moments; a dropped connection is noticed
// and rebuilt, and mail delivered after it is still picked up. A second
// gateway waits on standby and takes the mailbox over when the first dies.
func TestIdleDropAndTakeover(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Mailboxes[0].IMAP.PollInterval = time.Minute })
	stop1 := run(t, e.ch, e.svc)
	other := e.build(t)
	stop2 := run(t, other, e.svc)
	// Either may win the lease; the other waits.
	var active, standby *Channel
	var stopActive func()
	eventually(t, "one reader idle, one on standby", 10*time.Second, func() bool {
		a, b := e.ch.Status(supportAddr), other.Status(supportAddr)
		switch {
		case a == "idle" && strings.HasPrefix(b, "standby"):
			active, standby, stopActive = e.ch, other, stop1
		case b == "idle" && strings.HasPrefix(a, "standby"):
			active, standby, stopActive = other, e.ch, stop2
		}
		return active != nil
	})
	deliver := func(i int) {
		m := rawMail([][2]string{{"From", fmt.Sprintf("p%d@example.com", i)}, {"To", supportAddr}, {"Subject", "hi"},
			{"Message-ID", fmt.Sprintf("<idle-%d@example.com>", i)}}, "hello")
		if err := e.dove.Deliver(supportUser, "", m); err != nil {
			t.Fatal(err)
		}
	}
	deliver(1)
	// Well under the one-minute poll: IDLE told us.
	eventually(t, "mail under IDLE", 5*time.Second, func() bool { return e.checkpoint() == 1 })

	if err := e.dove.Kick(supportUser); err != nil {
		t.Fatal(err)
	}
	deliver(2)
	eventually(t, "mail after a dropped connection", 10*time.Second, func() bool { return e.checkpoint() == 2 })

	stopActive()
	deliver(3)
	eventually(t, "the standby gateway to take over", 10*time.Second, func() bool {
		return e.checkpoint() == 3 && standby.Status(supportAddr) == "idle"
	})
	if n := len(e.conversations()); n != 3 {
		t.Errorf("conversations = %d, want 3", n)
	}
}

// Permanent SMTP refusals fail the reply for good with the server's words;
// the agent sees them in the transcript.
func TestSendPermanentFailure(t *testing.T) {
	e := newEnv(t, func(c *Config) { f := false; c.AutoAck = &f })
	ctx := context.Background()
	e.smtp.reject["gone@example.com"] = true
	r, err := e.core.Receive(ctx, channel.Inbound{Channel: channel.Email, From: "gone@example.com", To: supportAddr, Text: "hi", ProviderID: "g1@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	run(t, e.ch, e.svc)
	if _, err := e.svc.Reply(ctx, r.ConversationID, "agent-1", "hello", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the failure recorded", 10*time.Second, func() bool {
		tr, _ := e.svc.Transcript(ctx, r.ConversationID, "", 0)
		for _, en := range tr {
			if en.Type == conversation.EntryStatus && en.Status == "failed" {
				return strings.HasPrefix(en.ErrorCode, "550") && strings.Contains(en.ErrorText, "no such user")
			}
		}
		return false
	})
}

// A UIDVALIDITY change (the server renumbered the folder) does not
// re-import the mailbox: only unseen mail is read, and Message-ID
// deduplication drops what was stored under the old numbering.
func TestUIDValidityChangeDoesNotReimport(t *testing.T) {
	e := newEnv(t, func(c *Config) { f := false; c.AutoAck = &f })
	msg := func(i int) []byte {
		return rawMail([][2]string{{"From", fmt.Sprintf("u%d@example.com", i)}, {"To", supportAddr}, {"Subject", "hi"},
			{"Message-ID", fmt.Sprintf("<uv-%d@example.com>", i)}}, "hello")
	}
	if err := e.dove.Deliver(supportUser, "", msg(1), msg(2), msg(3)); err != nil {
		t.Fatal(err)
	}
	stop := run(t, e.ch, e.svc)
	eventually(t, "first import", 10*time.Second, func() bool { return e.checkpoint() == 3 })
	stop()
	// As if the server had been renumbered: the stored UIDVALIDITY no
	// longer matches, and the stored UID means nothing.
	ck := e.ch.k.ckpt(e.ch.cfg.Mailboxes[0].key())
	if err := e.rdb.HSet(context.Background(), ck, "uidvalidity", "1", "uid", "999").Err(); err != nil {
		t.Fatal(err)
	}
	// One seen mail a person re-filed unread, one new mail.
	c, err := e.dove.Dial(supportUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	if err := e.dove.Deliver(supportUser, "", msg(4)); err != nil {
		t.Fatal(err)
	}
	gw := e.build(t)
	run(t, gw, e.svc)
	eventually(t, "the new mail", 10*time.Second, func() bool { return e.checkpoint() == 4 })
	total := 0
	for _, conv := range e.conversations() {
		total += len(e.customerMessages(conv))
	}
	if n := len(e.conversations()); n != 4 || total != 4 {
		t.Fatalf("after the UIDVALIDITY change: %d conversations, %d messages; want 4 and 4", n, total)
	}
}
