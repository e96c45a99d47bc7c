package email

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
)

// maxRaw is the largest original kept for the agent to view; larger mails
// keep their parsed parts only.
const maxRaw = 2 << 20

// saveInbound records what the console shows of a received mail and the
// thread state replies need: subject, References, the cc'd people. Every
// write is idempotent.
func (c *Channel) saveInbound(ctx context.Context, convID string, mb *Mailbox, m *Message, raw []byte, quoted string, atts []channel.Attachment) error {
	pid := m.ProviderID()
	fields := map[string]any{
		"conv": convID, "dir": "in", "from": addrString(m.From), "to": addrList(m.To), "cc": addrList(m.Cc),
		"subject": m.Subject, "text": m.Text, "html": m.HTML, "quoted": quoted,
		"date": "", "problems": strings.Join(m.Problems, "\n"),
		"message_id": m.MessageID,
	}
	if len(atts) > 0 {
		// Only on the first store: a re-fetch keeps the files it has.
		b, _ := json.Marshal(atts)
		fields["attachments"] = string(b)
	}
	if len(raw) <= maxRaw {
		fields["raw"] = raw
	}
	at := m.Date
	if at.IsZero() {
		at = c.now()
	}
	fields["date"] = at.UTC().Format(time.RFC3339)
	refs := append(append([]string{}, m.References...), m.InReplyTo...)
	if m.MessageID != "" {
		refs = append(refs, m.MessageID)
	}
	pipe := c.rdb.TxPipeline()
	pipe.HSet(ctx, c.k.msg(pid), fields)
	pipe.ZAddNX(ctx, c.k.convMsgs(convID), redis.Z{Score: float64(at.UnixMilli()), Member: pid})
	ck := c.k.conv(convID)
	pipe.HSetNX(ctx, ck, "subject", m.Subject)
	pipe.HSetNX(ctx, ck, "mailbox", mb.Address)
	pipe.HSet(ctx, ck, "references", strings.Join(lastN(dedupe(refs), 20), " "), "last_in", pid)
	// People the customer copied stay copied on our replies, unless an
	// agent edited the list.
	if cc := ccOf(m, mb); cc != "" {
		pipe.HSetNX(ctx, ck, "cc", cc)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("email: save %s: %w", pid, err)
	}
	return nil
}

// ccOf is everyone on the mail but the customer and our own addresses.
func ccOf(m *Message, mb *Mailbox) string {
	var out []string
	for _, a := range append(append([]*mail.Address{}, m.To...), m.Cc...) {
		addr := strings.ToLower(a.Address)
		if (m.From != nil && strings.EqualFold(addr, m.From.Address)) || addr == mb.Address {
			continue
		}
		if local, domain, _ := strings.Cut(addr, "@"); strings.HasPrefix(local, strings.Split(mb.Address, "@")[0]+mb.PlusSeparator) && strings.HasSuffix(mb.Address, "@"+domain) {
			continue
		}
		out = append(out, a.String())
	}
	return strings.Join(out, ", ")
}

func addrString(a *mail.Address) string {
	if a == nil {
		return ""
	}
	return a.String()
}

func addrList(l []*mail.Address) string {
	s := make([]string, len(l))
	for i, a := range l {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func dedupe(l []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range l {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func lastN(l []string, n int) []string {
	if len(l) > n {
		// Keep the thread's root and the newest: RFC 5322 §3.6.4 trimming.
		return append([]string{l[0]}, l[len(l)-n+1:]...)
	}
	return l
}
