package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
)

// Send delivers an agent's reply as a proper email in the customer's
// thread: our Message-ID (the same on every attempt, so a retry after an
// unclear outcome is recognizable as the same mail), In-Reply-To and
// References, a "Re:" subject fixed to the thread, Date, plain text with an
// HTML alternative, the previous mail quoted, the cc'd people, attachments.
// SMTP 5xx answers are permanent (*channel.PermanentError with the server's
// words); 4xx and connection trouble are temporary.
func (c *Channel) Send(ctx context.Context, out channel.Outbound) (channel.SendResult, error) {
	mb := c.boxes[strings.ToLower(out.From)]
	if mb == nil && len(c.cfg.Mailboxes) == 1 {
		mb = &c.cfg.Mailboxes[0]
	}
	if mb == nil {
		return channel.SendResult{}, &channel.PermanentError{Code: "no_mailbox", Message: "no mailbox configured for " + out.From}
	}
	th, err := c.rdb.HGetAll(ctx, c.k.conv(out.ConversationID)).Result()
	if err != nil {
		return channel.SendResult{}, fmt.Errorf("email: thread %s: %w: %w", out.ConversationID, err, channel.ErrTemporary)
	}
	var prev map[string]string
	if th["last_in"] != "" {
		prev, _ = c.rdb.HGetAll(ctx, c.k.msg(th["last_in"])).Result()
	}
	o := outgoing{
		mb: mb, convID: out.ConversationID, to: out.To, cc: th["cc"],
		subject:   replySubject(th["subject"]),
		messageID: ourMessageID(out.MessageID, mb.Address),
		text:      out.Text,
		date:      c.now(),
	}
	if th["subject"] == "" && th["last_in"] == "" {
		// The first mail of a conversation we start: its own subject, no "Re:".
		o.subject = firstSubject(out.Subject, mb)
	}
	if hint := out.ThreadHint; hint != "" && !strings.HasPrefix(hint, "h:") {
		o.inReplyTo = hint
	}
	o.references = dedupe(append(strings.Fields(th["references"]), o.inReplyTo))
	if prev != nil {
		o.quoteFrom, o.quoteDate, o.quote = prev["from"], prev["date"], prev["text"]
		if o.quote == "" && prev["html"] != "" {
			o.quote = c.san.Text(prev["html"])
		}
	}
	for _, a := range out.Attachments {
		if a.StoredPath == "" || c.att == nil {
			return channel.SendResult{}, &channel.PermanentError{Code: "attachment", Message: "attachment " + a.Name + " is not stored"}
		}
		f, _, err := c.att.OpenAttachment(ctx, a.StoredPath)
		if err != nil {
			return channel.SendResult{}, &channel.PermanentError{Code: "attachment", Message: err.Error()}
		}
		b, err := io.ReadAll(io.LimitReader(f, c.cfg.Limits.MaxMessageBytes))
		_ = f.Close()
		if err != nil {
			return channel.SendResult{}, fmt.Errorf("email: read attachment %s: %w: %w", a.Name, err, channel.ErrTemporary)
		}
		o.attachments = append(o.attachments, Part{Name: a.Name, ContentType: a.ContentType, Data: b})
	}
	raw, err := o.build()
	if err != nil {
		return channel.SendResult{}, &channel.PermanentError{Code: "compose", Message: err.Error()}
	}
	rcpts := []string{out.To}
	for _, a := range splitAddrs(o.cc) {
		rcpts = append(rcpts, a.Address)
	}
	if err := c.submit(ctx, mb, rcpts, raw, ""); err != nil {
		return channel.SendResult{}, err
	}
	pipe := c.rdb.TxPipeline()
	pipe.HSet(ctx, c.k.msg(o.messageID), map[string]any{
		"conv": out.ConversationID, "dir": "out", "from": mb.Address, "to": out.To, "cc": o.cc,
		"subject": o.subject, "text": out.Text, "date": o.date.UTC().Format(time.RFC3339), "message_id": o.messageID,
	})
	pipe.ZAddNX(ctx, c.k.convMsgs(out.ConversationID), redis.Z{Score: float64(o.date.UnixMilli()), Member: o.messageID})
	pipe.HSet(ctx, c.k.conv(out.ConversationID), "references", strings.Join(lastN(append(o.references, o.messageID), 20), " "))
	pipe.HSetNX(ctx, c.k.conv(out.ConversationID), "subject", strings.TrimPrefix(o.subject, "Re: "))
	if _, err := pipe.Exec(ctx); err != nil {
		// The mail went out; the view is a convenience. Say so, succeed.
		c.log.WarnContext(ctx, "email: sent mail not recorded for display", "message_id", o.messageID, "err", err)
	}
	return channel.SendResult{ProviderID: o.messageID, Status: "sent"}, nil
}

// firstSubject is the subject of a mail that starts a conversation: the
// agent's, else "Message from" the mailbox's name.
func firstSubject(s string, mb *Mailbox) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	name := mb.Name
	if name == "" {
		name = mb.Address
	}
	return "Message from " + name
}

// ourMessageID is deterministic per outbound message, so every attempt of
// one reply carries the same Message-ID.
func ourMessageID(messageID, mailbox string) string {
	_, domain, _ := strings.Cut(mailbox, "@")
	return "sb." + messageID + "@" + domain
}

// replySubject is "Re: " and the thread's subject without its own reply
// prefixes.
func replySubject(s string) string {
	for {
		t := strings.TrimSpace(s)
		l := strings.ToLower(t)
		cut := false
		for _, p := range []string{"re:", "aw:", "sv:", "fw:", "fwd:", "wg:", "tr:"} {
			if strings.HasPrefix(l, p) {
				s, cut = t[len(p):], true
				break
			}
		}
		if !cut {
			if t == "" {
				t = "Your message"
			}
			return "Re: " + t
		}
	}
}

func splitAddrs(s string) []*mail.Address {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	l, err := mail.ParseAddressList(s)
	if err != nil {
		return nil
	}
	return l
}

// outgoing is one mail we send.
type outgoing struct {
	mb                          *Mailbox
	convID, to, cc, subject     string
	messageID, inReplyTo        string
	references                  []string
	text                        string
	quote, quoteFrom, quoteDate string
	date                        time.Time
	attachments                 []Part
	autoSubmitted               bool
}

func (o *outgoing) build() ([]byte, error) {
	var h mail.Header
	h.SetDate(o.date)
	h.SetAddressList("From", []*mail.Address{{Name: o.mb.Name, Address: o.mb.Address}})
	h.SetAddressList("To", []*mail.Address{{Address: o.to}})
	if cc := splitAddrs(o.cc); len(cc) > 0 {
		h.SetAddressList("Cc", cc)
	}
	if o.mb.ReplyAddress {
		local, domain, _ := strings.Cut(o.mb.Address, "@")
		h.SetAddressList("Reply-To", []*mail.Address{{Name: o.mb.Name, Address: local + o.mb.PlusSeparator + o.convID + "@" + domain}})
	}
	h.SetSubject(o.subject)
	h.SetMessageID(o.messageID)
	if o.inReplyTo != "" {
		h.SetMsgIDList("In-Reply-To", []string{o.inReplyTo})
	}
	if len(o.references) > 0 {
		h.SetMsgIDList("References", o.references)
	}
	if o.autoSubmitted {
		// RFC 3834: robots must not answer this.
		h.Set("Auto-Submitted", "auto-replied")
		h.Set("X-Auto-Response-Suppress", "All")
		h.Set("Precedence", "auto_reply")
	}
	text := o.text
	htmlBody := "<div>" + strings.ReplaceAll(html.EscapeString(o.text), "\n", "<br>\n") + "</div>"
	if strings.TrimSpace(o.quote) != "" {
		intro := "On " + o.quoteDate + ", " + o.quoteFrom + " wrote:"
		if d, err := time.Parse(time.RFC3339, o.quoteDate); err == nil {
			intro = "On " + d.Format("Mon, 2 Jan 2006 at 15:04") + ", " + o.quoteFrom + " wrote:"
		}
		q := strings.TrimSpace(o.quote)
		text += "\n\n" + intro + "\n> " + strings.ReplaceAll(q, "\n", "\n> ") + "\n"
		htmlBody += "\n<br><div>" + html.EscapeString(intro) + "</div>\n<blockquote style=\"margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex\">" +
			strings.ReplaceAll(html.EscapeString(q), "\n", "<br>\n") + "</blockquote>"
	}
	var buf bytes.Buffer
	mw, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	iw, err := mw.CreateInline()
	if err != nil {
		return nil, err
	}
	for _, alt := range []struct{ ct, body string }{{"text/plain", text}, {"text/html", "<!doctype html><html><body>" + htmlBody + "</body></html>"}} {
		var ih mail.InlineHeader
		ih.SetContentType(alt.ct, map[string]string{"charset": "utf-8"})
		ih.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := iw.CreatePart(ih)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(w, alt.body); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	if err := iw.Close(); err != nil {
		return nil, err
	}
	for _, a := range o.attachments {
		var ah mail.AttachmentHeader
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		ah.SetContentType(ct, nil)
		ah.SetFilename(a.Name)
		ah.Set("Content-Transfer-Encoding", "base64")
		w, err := mw.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(a.Data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// smtpError sorts an SMTP failure: a 5xx answer is the server's final word
// (kept on the message for the agent), anything else is worth a retry.
func smtpError(step string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		code := strconv.Itoa(se.Code)
		if se.EnhancedCode != smtp.NoEnhancedCode && se.EnhancedCode != (smtp.EnhancedCode{}) {
			code += fmt.Sprintf(" %d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		}
		return &channel.PermanentError{Code: code, Message: step + ": " + se.Message}
	}
	return fmt.Errorf("email: smtp %s: %w: %w", step, err, channel.ErrTemporary)
}

func (c *Channel) tlsConfig(host string, insecure bool) *tls.Config {
	var tc *tls.Config
	if c.tls != nil {
		tc = c.tls.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		tc.ServerName = host
	}
	if insecure {
		tc.InsecureSkipVerify = true
	}
	return tc
}
