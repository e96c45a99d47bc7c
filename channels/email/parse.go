package email

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // ISO-8859-*, Windows-125x, KOI8, Shift-JIS… for message.Read
	"github.com/emersion/go-message/mail"
)

// Limits bound what one message may cost. The zero value of each field
// picks the documented default.
type Limits struct {
	// MaxMessageBytes is the largest raw message parsed; a larger one is
	// stored by its headers with a note. Zero: 25 MiB.
	MaxMessageBytes int64
	// MaxTextBytes caps the text and HTML kept per message. Zero: 1 MiB.
	MaxTextBytes int
	// MaxAttachments per message; the rest are named in a note. Zero: 20.
	MaxAttachments int
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = 25 << 20
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = 1 << 20
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = 20
	}
	return l
}

// Message is one parsed email: what the channel needs of its headers and
// the parts a person reads.
type Message struct {
	// MessageID is the Message-ID without angle brackets; empty when the
	// message has none.
	MessageID string
	From      *mail.Address
	ReplyTo   []*mail.Address
	To, Cc    []*mail.Address
	// DeliveredTo lists Delivered-To and X-Original-To, which name the
	// mailbox address when we are only in Bcc.
	DeliveredTo []string
	Subject     string
	Date        time.Time
	// InReplyTo and References are Message-IDs without angle brackets, in
	// header order.
	InReplyTo, References []string
	// Text is the text/plain body (preferred for the transcript); HTML the
	// text/html body, unsanitized.
	Text, HTML  string
	Attachments []Part
	// Automatic headers for loop prevention (RFC 3834, RFC 2369/2919).
	AutoSubmitted, Precedence, ListID, AutoResponseSuppress string
	// Report is set for an RFC 3464 delivery status notification.
	Report *DSN
	// HeaderHash identifies the message when it has no Message-ID: a hash
	// of its headers, stable across fetches.
	HeaderHash string
	// Problems are what could not be read (a part in an unknown charset, an
	// attachment over the limit); they are shown to the agent.
	Problems []string
}

// Part is an attachment or inline image.
type Part struct {
	Name, ContentType, ContentID string
	Inline                       bool
	Data                         []byte
}

// DSN is what a delivery status notification says about the message that
// bounced.
type DSN struct {
	// OriginalMessageID is the Message-ID of the bounced message (ours).
	OriginalMessageID string
	// Action is the first recipient's action: failed, delayed, delivered…
	Action string
	// Status is the enhanced status code (5.1.1), Diagnostic the remote
	// server's words.
	Status, Diagnostic, Recipient string
}

// Failed reports whether the report says the message will not arrive.
func (d *DSN) Failed() bool {
	return d.Action == "failed" || (d.Action == "" && strings.HasPrefix(d.Status, "5"))
}

// ErrUnreadable is wrapped by Parse when not even the header could be read.
var ErrUnreadable = errors.New("email: unreadable message")

// Parse reads a raw RFC 5322 message. It returns a Message with what could
// be read even when err is nil but parts failed (Problems says which); an
// error wrapping ErrUnreadable means the header itself is broken, and the
// caller keeps the raw bytes for the agent.
func Parse(raw []byte, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	m := &Message{HeaderHash: headerHash(raw)}
	body := raw
	if int64(len(raw)) > lim.MaxMessageBytes {
		m.Problems = append(m.Problems, fmt.Sprintf("message is %d bytes, over the %d-byte limit: only its header was read", len(raw), lim.MaxMessageBytes))
		body = headerOnly(raw)
	}
	ent, err := message.ReadWithOptions(bytes.NewReader(body), &message.ReadOptions{MaxHeaderBytes: 256 << 10})
	if err != nil && ent == nil {
		return m, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	if err != nil {
		m.Problems = append(m.Problems, "body: "+err.Error())
	}
	m.readHeader(mail.Header{Header: ent.Header})
	if int64(len(raw)) > lim.MaxMessageBytes {
		m.clean()
		return m, nil
	}
	w := walker{m: m, lim: lim}
	if werr := ent.Walk(w.visit); werr != nil {
		m.Problems = append(m.Problems, "structure: "+werr.Error())
	}
	m.clean()
	return m, nil
}

// clean makes every string an agent sees valid UTF-8: headers in an
// undeclared 8-bit charset and error texts quoting the bad bytes are not.
func (m *Message) clean() {
	v := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
	m.Subject = v(m.Subject)
	for i := range m.Problems {
		m.Problems[i] = v(m.Problems[i])
	}
	for _, l := range [][]*mail.Address{{m.From}, m.ReplyTo, m.To, m.Cc} {
		for _, a := range l {
			if a != nil {
				a.Name, a.Address = v(a.Name), v(a.Address)
			}
		}
	}
	for i, p := range m.Attachments {
		m.Attachments[i].Name = v(p.Name)
	}
}

func (m *Message) readHeader(h mail.Header) {
	if id, err := h.MessageID(); err == nil {
		m.MessageID = cleanID(id)
	} else if v := h.Get("Message-Id"); v != "" {
		m.MessageID = cleanID(v)
	}
	if l, err := h.AddressList("From"); err == nil && len(l) > 0 {
		m.From = l[0]
	} else if v := h.Get("From"); v != "" {
		m.From = laxAddress(v)
		if m.From == nil {
			m.Problems = append(m.Problems, "From header unreadable: "+truncate(v, 200))
		}
	}
	m.ReplyTo, _ = h.AddressList("Reply-To")
	m.To, _ = h.AddressList("To")
	m.Cc, _ = h.AddressList("Cc")
	for _, k := range []string{"Delivered-To", "X-Original-To"} {
		for _, v := range h.Values(k) {
			if a := laxAddress(v); a != nil {
				m.DeliveredTo = append(m.DeliveredTo, a.Address)
			}
		}
	}
	if s, err := h.Subject(); err == nil {
		m.Subject = s
	} else {
		m.Subject = h.Get("Subject")
	}
	m.Subject = strings.TrimSpace(strings.Join(strings.Fields(m.Subject), " "))
	if d, err := h.Date(); err == nil {
		m.Date = d
	}
	m.InReplyTo = idList(h, "In-Reply-To")
	m.References = idList(h, "References")
	m.AutoSubmitted = strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted")))
	m.Precedence = strings.ToLower(strings.TrimSpace(h.Get("Precedence")))
	m.ListID = strings.TrimSpace(h.Get("List-Id"))
	m.AutoResponseSuppress = strings.TrimSpace(h.Get("X-Auto-Response-Suppress"))
}

// idList reads a list of msg-ids leniently: clients write them with and
// without brackets, separated by spaces or commas.
func idList(h mail.Header, key string) []string {
	if l, err := h.MsgIDList(key); err == nil && len(l) > 0 {
		out := make([]string, 0, len(l))
		for _, id := range l {
			if id = cleanID(id); id != "" {
				out = append(out, id)
			}
		}
		return out
	}
	var out []string
	for _, f := range strings.FieldsFunc(h.Get(key), func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		if id := cleanID(f); id != "" && strings.Contains(id, "@") {
			out = append(out, id)
		}
	}
	return out
}

// cleanID strips brackets and whitespace; ids are compared exactly
// otherwise (their local part is case-sensitive). Whitespace inside an id
// would split a thread hint, so an id containing any is dropped.
func cleanID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	if id == "" || strings.ContainsAny(id, " \t\r\n<>") || len(id) > 250 {
		return ""
	}
	return id
}

func laxAddress(v string) *mail.Address {
	if a, err := mail.ParseAddress(v); err == nil {
		return a
	}
	// "Name <a@b>" with an unencoded 8-bit name, or a bare address.
	if i, j := strings.LastIndex(v, "<"), strings.LastIndex(v, ">"); i >= 0 && j > i {
		addr := strings.TrimSpace(v[i+1 : j])
		if strings.Count(addr, "@") == 1 && !strings.ContainsAny(addr, " \t") {
			return &mail.Address{Name: strings.Trim(strings.TrimSpace(v[:i]), `"`), Address: addr}
		}
	}
	if s := strings.TrimSpace(v); strings.Count(s, "@") == 1 && !strings.ContainsAny(s, " \t<>") {
		return &mail.Address{Address: s}
	}
	return nil
}

type walker struct {
	m   *Message
	lim Limits
}

func (w *walker) visit(path []int, ent *message.Entity, err error) error {
	m := w.m
	if err != nil {
		m.Problems = append(m.Problems, fmt.Sprintf("part %v: %v", path, err))
	}
	ct, params, _ := ent.Header.ContentType()
	if ct == "" {
		ct = "text/plain"
	}
	if strings.HasPrefix(ct, "multipart/") {
		if ct == "multipart/report" && strings.EqualFold(params["report-type"], "delivery-status") {
			w.report()
		}
		return nil
	}
	disp, dparams, _ := ent.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if name != "" {
		if dec, derr := new(mime.WordDecoder).DecodeHeader(name); derr == nil {
			name = dec
		}
	}
	attachment := disp == "attachment" || (name != "" && !strings.HasPrefix(ct, "text/"))
	switch {
	case ct == "message/delivery-status":
		b, _ := readLimited(ent.Body, 64<<10)
		w.report().readStatus(b)
		return nil
	case ct == "message/rfc822" || ct == "text/rfc822-headers" || ct == "message/rfc822-headers":
		b, _ := readLimited(ent.Body, int64(w.lim.MaxTextBytes))
		if m.Report != nil {
			if id := originalID(b); id != "" {
				w.report().OriginalMessageID = id
			}
		}
		if !attachment {
			// A forwarded message stays readable as an attachment.
			w.attach(Part{Name: "forwarded.eml", ContentType: "message/rfc822", Data: b})
			return nil
		}
		w.attach(Part{Name: name, ContentType: ct, Data: b})
		return nil
	case !attachment && ct == "text/plain" && m.Text == "":
		b, rerr := readLimited(ent.Body, int64(w.lim.MaxTextBytes))
		m.Text = toValidUTF8(b)
		if rerr != nil {
			m.Problems = append(m.Problems, "text: "+rerr.Error())
		}
		return nil
	case !attachment && ct == "text/html" && m.HTML == "":
		b, rerr := readLimited(ent.Body, int64(w.lim.MaxTextBytes))
		m.HTML = toValidUTF8(b)
		if rerr != nil {
			m.Problems = append(m.Problems, "html: "+rerr.Error())
		}
		return nil
	}
	b, rerr := readLimited(ent.Body, w.lim.MaxMessageBytes)
	if rerr != nil {
		m.Problems = append(m.Problems, fmt.Sprintf("attachment %q: %v", name, rerr))
	}
	if name == "" {
		name = "part-" + pathName(path) + extFor(ct)
	}
	w.attach(Part{Name: name, ContentType: ct, ContentID: cleanID(ent.Header.Get("Content-Id")),
		Inline: disp == "inline" || (disp == "" && ent.Header.Get("Content-Id") != ""), Data: b})
	return nil
}

func (w *walker) attach(p Part) {
	if len(w.m.Attachments) >= w.lim.MaxAttachments {
		w.m.Problems = append(w.m.Problems, fmt.Sprintf("attachment %q not kept: more than %d attachments", p.Name, w.lim.MaxAttachments))
		return
	}
	w.m.Attachments = append(w.m.Attachments, p)
}

func (w *walker) report() *DSN {
	if w.m.Report == nil {
		w.m.Report = &DSN{}
	}
	return w.m.Report
}

// readStatus reads the per-message and per-recipient fields of a
// message/delivery-status part (RFC 3464 §2.1): blocks of header fields
// separated by blank lines. The first recipient block decides.
func (d *DSN) readStatus(b []byte) {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(b, '\r', '\n', '\r', '\n'))))
	for i := 0; i < 20; i++ {
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 && d.Action == "" && h.Get("Action") != "" {
			d.Action = strings.ToLower(strings.TrimSpace(h.Get("Action")))
			d.Status = strings.TrimSpace(h.Get("Status"))
			d.Diagnostic = strings.TrimSpace(h.Get("Diagnostic-Code"))
			d.Recipient = strings.TrimSpace(h.Get("Final-Recipient"))
			if _, after, ok := strings.Cut(d.Recipient, ";"); ok {
				d.Recipient = strings.TrimSpace(after)
			}
			if _, after, ok := strings.Cut(d.Diagnostic, ";"); ok {
				d.Diagnostic = strings.TrimSpace(after)
			}
		}
		if err != nil {
			return
		}
	}
}

// originalID finds the Message-ID in the returned message or its headers.
func originalID(b []byte) string {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(b, '\r', '\n', '\r', '\n'))))
	h, _ := r.ReadMIMEHeader()
	return cleanID(h.Get("Message-Id"))
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if int64(len(b)) > max {
		return b[:max], fmt.Errorf("cut at %d bytes", max)
	}
	return b, err
}

func toValidUTF8(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }

func headerOnly(raw []byte) []byte {
	for _, sep := range [][]byte{[]byte("\r\n\r\n"), []byte("\n\n")} {
		if i := bytes.Index(raw, sep); i >= 0 {
			return raw[:i+len(sep)]
		}
	}
	if len(raw) > 256<<10 {
		return raw[:256<<10]
	}
	return raw
}

// headerHash is a stable id for a message without Message-ID: the sha256 of
// the header fields that do not change between fetches (Received lines and
// the like are added by each hop, so only the author's fields count).
func headerHash(raw []byte) string {
	h := sha256.New()
	hdr := headerOnly(raw)
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(hdr)))
	fields, _ := tp.ReadMIMEHeader()
	keys := []string{"From", "To", "Cc", "Subject", "Date", "In-Reply-To", "References", "Content-Type"}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s:%s\n", k, strings.Join(fields.Values(k), "\x00"))
	}
	if len(fields) == 0 {
		h.Write(raw)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func pathName(path []int) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = fmt.Sprint(p + 1)
	}
	if len(parts) == 0 {
		return "1"
	}
	return strings.Join(parts, ".")
}

func extFor(ct string) string {
	if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
		return exts[0]
	}
	return ".bin"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
