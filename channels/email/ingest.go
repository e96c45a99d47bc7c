package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// maxHint keeps a thread hint inside the core's 998-byte limit: In-Reply-To,
// the reply-address key and as many References (newest first) as fit.
const maxHint = 990

// unknownSender is the customer address of a mail whose From cannot be
// read at all; its conversation shows the raw mail with a note.
const unknownSender = "unknown-sender@unknown.invalid"

// ProviderID is the id the core deduplicates a mail by: its Message-ID, or
// "h:" and a hash of its headers when it has none.
func (m *Message) ProviderID() string {
	if m.MessageID != "" {
		return m.MessageID
	}
	return "h:" + m.HeaderHash
}

// ThreadHint lists the keys that may name the mail's conversation, most
// telling first: In-Reply-To, the per-conversation reply address, then
// References newest first (the core's Receive documents the format).
func (m *Message) ThreadHint(replyKey string) string {
	var keys []string
	seen := map[string]bool{}
	add := func(k string) {
		if k != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, id := range m.InReplyTo {
		add(id)
	}
	if replyKey != "" {
		add("conv:" + replyKey)
	}
	for i := len(m.References) - 1; i >= 0; i-- {
		add(m.References[i])
	}
	n := 0
	for i, k := range keys {
		if n+len(k)+1 > maxHint {
			keys = keys[:i]
			break
		}
		n += len(k) + 1
	}
	return strings.Join(keys, " ")
}

// outcome of one mail, for logs and tests.
type outcome string

const (
	outStored    outcome = "stored"
	outDuplicate outcome = "duplicate"
	outBounce    outcome = "bounce"
	outDropped   outcome = "dropped"
)

// ingest stores one raw mail read from mailbox mb. It returns nil once the
// mail is durably where it belongs (a conversation message, a delivery
// failure, or deliberately dropped), and only then may the caller flag it
// and move the checkpoint. An error means: leave it, try again later.
func (c *Channel) ingest(ctx context.Context, mb *Mailbox, raw []byte, internalDate time.Time) (outcome, error) {
	m, perr := Parse(raw, c.cfg.Limits)
	if perr != nil {
		m.Problems = append([]string{perr.Error()}, m.Problems...)
	}
	// Reports, and mail from the mail system itself, are about our mail:
	// they land on it or nowhere. (A no-reply sender is imported like anyone:
	// web forms send as noreply@ with the customer in Reply-To; it only
	// gets no automatic answer.)
	if m.Report != nil || (m.From != nil && isMailSystem(m.From.Address) && perr == nil) {
		return c.bounce(ctx, m)
	}
	from := unknownSender
	name := ""
	if m.From != nil && strings.Contains(m.From.Address, "@") {
		from = strings.ToLower(m.From.Address)
		name = m.From.Name
		// A web form writes as noreply@ and names the person in Reply-To:
		// the person is the customer.
		if isDaemon(from) && len(m.ReplyTo) > 0 && strings.Contains(m.ReplyTo[0].Address, "@") && !c.isOurs(m.ReplyTo[0].Address) {
			from, name = strings.ToLower(m.ReplyTo[0].Address), m.ReplyTo[0].Name
		}
	}
	if c.isOurs(from) {
		// Our own mail coming back (a copy, a loop through a forward):
		// never a conversation with ourselves.
		c.log.InfoContext(ctx, "email: dropped a mail from our own address", "mailbox", mb.Address, "message_id", m.MessageID)
		return outDropped, nil
	}
	key := replyKey(m, mb)
	text, quoted := m.transcriptText(c.san)
	in := channel.Inbound{
		Channel: channel.Email, From: from, To: mb.Address, Name: name,
		Text:       text,
		ProviderID: m.ProviderID(),
		ThreadHint: m.ThreadHint(key),
		ReceivedAt: internalDate,
	}
	if perr != nil {
		in.Text = "[This mail could not be read; its original is kept for the agent.]\n\n" + toValidUTF8([]byte(truncate(string(raw), 4000)))
	}
	// A mail already stored (a re-fetch after a crash) keeps its files;
	// storing them again would only leave orphans. (Asked only when there
	// are files: most mail has none, and the question is a round trip.)
	if len(m.Attachments) > 0 {
		known, err := c.rdb.Exists(ctx, c.k.msg(in.ProviderID)).Result()
		if err != nil {
			return "", fmt.Errorf("email: %s: %w", in.ProviderID, err)
		}
		if known == 0 {
			atts, notes := c.storeAttachments(ctx, m)
			in.Attachments = atts
			if len(notes) > 0 {
				in.Text += "\n\n[" + strings.Join(notes, "; ") + "]"
			}
		}
	}
	if strings.TrimSpace(in.Text) == "" {
		// A mail with nothing but a subject still says something.
		in.Text = m.Subject
	}
	r, err := c.core.Receive(ctx, in)
	if err != nil {
		return "", fmt.Errorf("email: receive %s: %w", in.ProviderID, err)
	}
	// What agents see of the mail, and the thread's state for replies.
	// Written after Receive and idempotent, so a crash in between is
	// repaired by the re-fetch that follows (Receive answers duplicate
	// with the same conversation).
	if err := c.saveInbound(ctx, r.ConversationID, mb, m, raw, quoted, in.Attachments); err != nil {
		return "", err
	}
	if r.Duplicate {
		return outDuplicate, nil
	}
	if r.NewConversation && c.cfg.autoAck() {
		c.acknowledgeApart(ctx, mb, m, r.ConversationID)
	}
	return outStored, nil
}

// transcriptText is what the transcript shows: the new text of the mail
// (text/plain preferred, else the HTML's text), its quoted history apart.
func (m *Message) transcriptText(san *Sanitizer) (fresh, quoted string) {
	t := m.Text
	if strings.TrimSpace(t) == "" && m.HTML != "" {
		t = san.Text(m.HTML)
	}
	t = strings.TrimSpace(strings.ReplaceAll(t, "\r\n", "\n"))
	fresh, quoted = SplitQuoted(t)
	if len(m.Problems) > 0 {
		fresh += "\n\n[" + strings.Join(m.Problems, "; ") + "]"
	}
	return strings.TrimSpace(fresh), quoted
}

// bounce lands a delivery report on the message that bounced. A report
// naming no message of ours is dropped (logged): a bounce never opens a
// conversation, or robots would answer robots.
func (c *Channel) bounce(ctx context.Context, m *Message) (outcome, error) {
	d := m.Report
	if d == nil {
		d = &DSN{Action: "failed"}
	}
	orig := d.OriginalMessageID
	if orig == "" {
		// A non-standard bounce: it often quotes our Message-ID in its
		// headers.
		ids := append(append([]string{}, m.InReplyTo...), m.References...)
		if len(ids) > 0 {
			orig = ids[len(ids)-1]
		}
	}
	if orig == "" || !d.Failed() {
		c.log.InfoContext(ctx, "email: dropped a delivery report", "action", d.Action, "original", orig, "message_id", m.MessageID)
		return outDropped, nil
	}
	text := d.Diagnostic
	if text == "" {
		text = firstLines(m.Text, 3)
	}
	if d.Recipient != "" {
		text = d.Recipient + ": " + text
	}
	err := c.core.UpdateDelivery(ctx, channel.DeliveryStatus{
		Channel: channel.Email, ProviderID: orig, Status: "failed",
		ErrorCode: d.Status, ErrorText: truncate(text, 500), At: m.Date,
	})
	if errors.Is(err, channel.ErrUnknownMessage) {
		c.log.InfoContext(ctx, "email: bounce of a message we did not send through the outbox", "original", orig)
		return outDropped, nil
	}
	if err != nil {
		return "", fmt.Errorf("email: bounce of %s: %w", orig, err)
	}
	return outBounce, nil
}

func firstLines(s string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
			if len(out) == n {
				break
			}
		}
	}
	return strings.Join(out, " ")
}

// storeAttachments keeps each attachment through the attachment store,
// within the core's per-message limit; what is not kept is named in a note.
func (c *Channel) storeAttachments(ctx context.Context, m *Message) ([]channel.Attachment, []string) {
	var out []channel.Attachment
	var notes []string
	for _, p := range m.Attachments {
		if c.att == nil {
			notes = append(notes, fmt.Sprintf("attachment %q (%d bytes) not kept", p.Name, len(p.Data)))
			continue
		}
		a, err := c.att.StoreAttachment(ctx, p.Name, p.ContentType, bytes.NewReader(p.Data))
		if err != nil {
			notes = append(notes, fmt.Sprintf("attachment %q not kept: %v", p.Name, err))
			continue
		}
		out = append(out, a)
	}
	return out, notes
}

func (c *Channel) isOurs(addr string) bool {
	addr = strings.ToLower(addr)
	if c.boxes[addr] != nil {
		return true
	}
	for _, mb := range c.boxes {
		local0, domain0, _ := strings.Cut(mb.Address, "@")
		local, domain, _ := strings.Cut(addr, "@")
		if domain == domain0 && strings.HasPrefix(local, local0+mb.PlusSeparator) {
			return true
		}
	}
	return false
}

// ingestUnreadable stores a mail the core refused as it was (a sender
// address it does not accept, a field over its limits) the way an
// unparseable one is stored: from the unknown sender, with the error and
// the start of the original as text, and the original kept for the agent.
// So one strange mail never blocks the mail behind it.
func (c *Channel) ingestUnreadable(ctx context.Context, mb *Mailbox, raw []byte, at time.Time, cause error) (outcome, error) {
	m, _ := Parse(raw, c.cfg.Limits)
	m.Problems = append(m.Problems, "could not be stored as usual: "+cause.Error())
	pid := m.ProviderID()
	if len(pid) > 900 {
		pid = "h:" + m.HeaderHash
	}
	from := ""
	if m.From != nil {
		from = m.From.String()
	}
	in := channel.Inbound{
		Channel: channel.Email, From: unknownSender, To: mb.Address, ProviderID: pid, ReceivedAt: at,
		Text: fmt.Sprintf("[This mail could not be stored as usual (%v). Sender: %q. Its original is kept for the agent; it begins:]\n\n%s",
			cause, from, toValidUTF8([]byte(truncate(string(raw), 4000)))),
	}
	r, err := c.core.Receive(ctx, in)
	if err != nil {
		return "", fmt.Errorf("email: store unreadable mail %s: %w", pid, err)
	}
	m.MessageID = strings.TrimPrefix(pid, "h:")
	if err := c.saveInbound(ctx, r.ConversationID, mb, m, raw, "", nil); err != nil {
		return "", err
	}
	return outStored, nil
}
