package email

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
)

// autoReplyBlock says why a mail must get no automatic answer, or "" when
// one may go: RFC 3834 §2 and what mail robots write in practice. A mail to
// a list, from a robot or from ourselves is never answered automatically.
func autoReplyBlock(m *Message, ours func(string) bool) string {
	if m.From == nil || !strings.Contains(m.From.Address, "@") {
		return "no sender"
	}
	from := strings.ToLower(m.From.Address)
	switch {
	case m.AutoSubmitted != "" && m.AutoSubmitted != "no":
		return "Auto-Submitted: " + m.AutoSubmitted
	case m.Precedence == "bulk" || m.Precedence == "list" || m.Precedence == "junk" || m.Precedence == "auto_reply":
		return "Precedence: " + m.Precedence
	case m.ListID != "":
		return "List-Id"
	case strings.Contains(strings.ToLower(m.AutoResponseSuppress), "all") || strings.Contains(strings.ToLower(m.AutoResponseSuppress), "autoreply"):
		return "X-Auto-Response-Suppress"
	case isDaemon(from):
		return "robot sender"
	case ours(from):
		return "our own address"
	case m.Report != nil:
		return "delivery report"
	}
	return ""
}

// isMailSystem: the mail system's own senders, whose mail is about ours.
func isMailSystem(addr string) bool {
	local, _, _ := strings.Cut(strings.ToLower(addr), "@")
	return local == "mailer-daemon" || local == "postmaster" || local == "mailerdaemon"
}

// isDaemon: mailer-daemon, postmaster and no-reply senders.
func isDaemon(addr string) bool {
	local, _, _ := strings.Cut(strings.ToLower(addr), "@")
	local = strings.ReplaceAll(strings.ReplaceAll(local, "-", ""), "_", "")
	local = strings.ReplaceAll(local, ".", "")
	for _, p := range []string{"mailerdaemon", "postmaster", "noreply", "donotreply", "bounce", "mailer"} {
		if strings.HasPrefix(local, p) {
			return true
		}
	}
	return false
}

// acknowledge sends the one automatic answer of a new conversation: a
// reference and an honest promise (the queue's estimate when there is one,
// otherwise no time at all), recorded through Core.Told. Failures are
// logged: the mail is stored either way.
func (c *Channel) acknowledge(ctx context.Context, mb *Mailbox, m *Message, convID string) {
	if a, ok := c.ackMailOf(ctx, m, convID); ok {
		c.sendAck(ctx, mb, a)
	}
}

// ackMail is what the acknowledgement of a mail needs of it.
type ackMail struct {
	convID, to, subject string
	inReplyTo           string // the mail's Message-ID, when it has one
	references          []string
}

// ackMailOf is what the acknowledgement of m needs; false (logged) when m
// must get none.
func (c *Channel) ackMailOf(ctx context.Context, m *Message, convID string) (ackMail, bool) {
	if why := autoReplyBlock(m, c.isOurs); why != "" {
		c.log.InfoContext(ctx, "email: no acknowledgement", "conversation", convID, "reason", why)
		return ackMail{}, false
	}
	a := ackMail{convID: convID, to: strings.ToLower(m.From.Address), subject: m.Subject, inReplyTo: m.MessageID}
	if len(m.ReplyTo) > 0 && !c.isOurs(m.ReplyTo[0].Address) {
		a.to = strings.ToLower(m.ReplyTo[0].Address)
	}
	if m.MessageID != "" {
		a.references = dedupe(append(append([]string{}, m.References...), m.MessageID))
	}
	return a, true
}

// sendAck sends and records the acknowledgement a, within the sender's
// hourly limit.
func (c *Channel) sendAck(ctx context.Context, mb *Mailbox, a ackMail) {
	to, convID := a.to, a.convID
	// The counter is made with its hour in the same transaction that counts:
	// one round trip, and a crash between two commands cannot leave a
	// counter that never expires (and a sender never answered again).
	// (SET NX answers nil when the counter exists: the count's own answer
	// is what says whether counting worked.) A counter an older version
	// left without its hour gets it here.
	var count *redis.IntCmd
	var left *redis.DurationCmd
	_, _ = c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetArgs(ctx, c.k.ackCount(to), 0, redis.SetArgs{Mode: "NX", TTL: time.Hour})
		count = p.Incr(ctx, c.k.ackCount(to))
		left = p.TTL(ctx, c.k.ackCount(to))
		return nil
	})
	n, err := count.Result()
	if err == nil && left.Val() == -1 { // no expiry (TTL answers -1 s)
		err = c.rdb.Expire(ctx, c.k.ackCount(to), time.Hour).Err()
	}
	if err != nil {
		c.log.WarnContext(ctx, "email: acknowledgement rate", "err", err)
		return
	}
	if n > int64(c.cfg.AckPerHour) {
		c.log.InfoContext(ctx, "email: no acknowledgement: sender over the hourly limit", "conversation", convID, "count", n)
		return
	}
	place, err := c.core.Estimate(ctx, mb.Queue)
	if err != nil {
		place = channel.Place{}
	}
	opens := ""
	if c.hours != nil {
		now := c.now()
		if sched := c.hours.Hours(mb.Queue); !sched.IsOpen(now) {
			opens = "later"
			if at, ok := sched.NextOpen(now); ok {
				opens = sched.Describe(now, at)
			}
		}
	}
	text := ackText(convID, place, opens)
	o := outgoing{
		mb: mb, convID: convID, to: to, subject: replySubject(a.subject) + " [" + reference(convID) + "]",
		messageID: ourMessageID("ack."+convID, mb.Address), text: text, date: c.now(), autoSubmitted: true,
		inReplyTo: a.inReplyTo, references: a.references,
	}
	raw, err := o.build()
	if err == nil {
		err = c.submit(ctx, mb, []string{to}, raw, convID)
	}
	if errors.Is(err, channel.ErrAnswered) {
		c.log.InfoContext(ctx, "email: acknowledgement not sent: an agent answered first", "conversation", convID)
		return
	}
	if err != nil {
		c.log.WarnContext(ctx, "email: acknowledgement not sent", "conversation", convID, "err", err)
		return
	}
	if err := c.core.Told(ctx, convID, text, place); err != nil {
		c.log.WarnContext(ctx, "email: acknowledgement not recorded", "conversation", convID, "err", err)
	}
}

// reference is the short ticket reference customers may quote.
func reference(convID string) string {
	id := strings.TrimPrefix(convID, "cv_")
	if len(id) > 8 {
		id = id[:8]
	}
	return "#" + strings.ToUpper(id)
}

// ackText tells the truth: a range only when the estimate is known, and no
// estimate at all outside business hours (opens is when the queue opens
// again, "" while it is open), where the wait is the closed time.
func ackText(convID string, p channel.Place, opens string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Thank you for your message. It has reached our team under reference %s; please keep it in the subject when you write again.\n\n", reference(convID))
	switch {
	case opens != "":
		fmt.Fprintf(&b, "We are closed right now and open again %s; a person will read your message and reply after that.", opens)
	case p.Known && p.High > 0:
		fmt.Fprintf(&b, "A person will reply, usually within %s.", roundWait(p.High))
	default:
		b.WriteString("A person will read it and reply; we cannot promise a time right now.")
	}
	b.WriteString("\n\nThis is an automatic confirmation; you do not need to answer it.")
	return b.String()
}

func roundWait(d time.Duration) string {
	switch {
	case d < 2*time.Minute:
		return "a few minutes"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int((d+5*time.Minute-1)/(5*time.Minute))*5)
	case d < 48*time.Hour:
		h := int((d + 59*time.Minute) / time.Hour)
		if h == 1 {
			return "an hour"
		}
		return fmt.Sprintf("%d hours", h)
	}
	return fmt.Sprintf("%d days", int((d+23*time.Hour)/(24*time.Hour)))
}
