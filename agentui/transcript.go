package agentui

import (
	"context"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/desk"
)

// Paging of resume (and the supervisor's watch). One answer must fit one
// frame well under the hub's send queue cap (1 MiB by default), whatever
// the customer wrote: JSON escapes each "<" to six bytes, so 90 chat
// messages of 2,000 "<" already make 1 MiB. So a transcript goes out in
// pages of at most pageBytes, read from the backend resumeBatch entries at
// a time, and the client asks for the next page with the cursor it got.
const (
	// pageBytes bounds the messages of one page, as encoded.
	pageBytes = 512 << 10
	// resumeBatch is how many entries one backend read returns: a page
	// stops between reads, so at most one read's worth past the budget is
	// read again for the next page.
	resumeBatch = 16
)

// transcriptPage is the data of a resume or watch ack.
type transcriptPage struct {
	Conv     string         `json:"conv"`
	Messages []desk.Message `json:"messages"`
	// Next is the after_id of the next page; More says there is one.
	Next string `json:"next"`
	More bool   `json:"more"`
}

// pager fills one page from the backend.
type pager struct {
	page transcriptPage
	size int
	full bool
}

func newPager(convID, afterID string) *pager {
	return &pager{page: transcriptPage{Conv: convID, Messages: []desk.Message{}, Next: afterID}}
}

// read reads one batch after the page's cursor and adds what fits. It
// reports whether the transcript has more entries after what was read.
func (p *pager) read(ctx context.Context, b Backend, who desk.Actor) (more bool, err error) {
	tp, err := b.Transcript(ctx, who, p.page.Conv, p.page.Next, resumeBatch)
	if err != nil {
		return false, err
	}
	for _, m := range tp.Messages {
		n := encodedLen(m)
		if p.size+n > pageBytes {
			if len(p.page.Messages) > 0 {
				// The rest of this batch starts the next page.
				p.full, p.page.More = true, true
				return true, nil
			}
			m, n = shorten(m, pageBytes), pageBytes
		}
		p.page.Messages = append(p.page.Messages, m)
		p.page.Next = m.ID
		p.size += n
	}
	// Status entries after the last message were read too: skip them.
	p.page.Next = tp.Next
	return tp.More, nil
}

// encodedLen is the size of m as JSON, worked out rather than encoded (a
// page would otherwise be encoded twice): the fixed fields, and the text
// fields with what encoding/json escapes counted at its escaped length.
func encodedLen(m desk.Message) int {
	n := 160 + len(m.ID) + len(m.ConversationID) + len(m.Kind) + len(m.Status) +
		jsonLen(m.Author) + jsonLen(m.Text) + jsonLen(m.Error)
	for _, f := range m.Attachments {
		n += 80 + jsonLen(f.Name) + jsonLen(f.ContentType) + jsonLen(f.Path)
	}
	return n
}

// jsonLen is the length of s as a JSON string body by encoding/json's
// rules: '<', '>', '&', control characters, U+2028/U+2029 and invalid
// bytes take six bytes ("\u003c"), '"' and '\\' two.
func jsonLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028', r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// shorten cuts a message whose text alone passes budget: every byte may
// take six once escaped, so a sixth of the budget always fits. The whole
// text stays in the REST transcript.
func shorten(m desk.Message, budget int) desk.Message {
	limit := budget/6 - 1024
	if len(m.Text) <= limit {
		return m
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(m.Text[cut]) {
		cut--
	}
	m.Text, m.Truncated = m.Text[:cut]+"…", true
	return m
}
