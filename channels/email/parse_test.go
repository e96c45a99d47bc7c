package email

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readMail(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mail", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRealWorldShapes(t *testing.T) {
	t.Parallel()
	san := NewSanitizer()
	tests := []struct {
		desc, file string
		check      func(t *testing.T, m *Message)
	}{
		{"gmail reply: QP UTF-8, quoted history split, thread ids", "gmail_reply.eml", func(t *testing.T, m *Message) {
			fresh, quoted := m.transcriptText(san)
			if fresh != "Thanks, the photo is attached in my first mail. Café mug, not the plate." {
				t.Errorf("fresh = %q", fresh)
			}
			if !strings.Contains(quoted, "> Could you send a photo?") {
				t.Errorf("quoted = %q", quoted)
			}
			if got := m.ThreadHint(""); got != "sb.m_first@shop.example CAF=ana-first@mail.gmail.example" {
				t.Errorf("hint = %q", got)
			}
			if m.From.Name != "Ana Lima" || m.ProviderID() != "CAF=gmail-reply-1@mail.gmail.example" {
				t.Errorf("from %+v id %q", m.From, m.ProviderID())
			}
		}},
		{"outlook reply in ISO-8859-1 to a reply address", "outlook_reply_latin1.eml", func(t *testing.T, m *Message) {
			fresh, quoted := m.transcriptText(san)
			if !strings.HasPrefix(fresh, "Grüße, die Lieferung ist angekommen. Danke für die schnelle Hilfe.") || strings.Contains(fresh, "parcel") {
				t.Errorf("fresh = %q", fresh)
			}
			if !strings.Contains(quoted, "Your parcel is on its way.") {
				t.Errorf("quoted = %q", quoted)
			}
			mb := &Mailbox{Address: supportAddr, ReplyAddress: true, PlusSeparator: "+"}
			if k := replyKey(m, mb); k != "cv_abcdefghijklmnop" {
				t.Errorf("reply key = %q", k)
			}
			if got := m.ThreadHint(replyKey(m, mb)); got != "conv:cv_abcdefghijklmnop" {
				t.Errorf("hint = %q", got)
			}
		}},
		{"windows-1252 body and encoded-word headers", "win1252.eml", func(t *testing.T, m *Message) {
			if m.Subject != "Price € 20 – too much" || m.From.Name != "Zoë Müller" {
				t.Errorf("subject %q from %q", m.Subject, m.From.Name)
			}
			if strings.TrimSpace(m.Text) != "The price € 20 – is too much “really”." {
				t.Errorf("text = %q", m.Text)
			}
		}},
		{"HTML only, inline image and a PDF with an encoded name", "attachments_html_only.eml", func(t *testing.T, m *Message) {
			fresh, _ := m.transcriptText(san)
			if fresh != "See the invoice and" {
				t.Errorf("text from HTML = %q", fresh)
			}
			if len(m.Attachments) != 2 {
				t.Fatalf("attachments = %+v", m.Attachments)
			}
			if m.Attachments[0].ContentID != "logo@x" || !m.Attachments[0].Inline || m.Attachments[1].Name != "Rechnung Ö.pdf" {
				t.Errorf("attachments = %+v / %+v", m.Attachments[0].Name, m.Attachments[1].Name)
			}
			h := san.HTML(m.HTML)
			if strings.Contains(h, "script") || strings.Contains(h, "onerror") || !strings.Contains(h, `src="cid:logo@x"`) {
				t.Errorf("sanitized = %s", h)
			}
			if len(m.Cc) != 1 || ccOf(m, &Mailbox{Address: supportAddr, PlusSeparator: "+"}) != `"Dan" <dan@example.net>` {
				t.Errorf("cc = %q", ccOf(m, &Mailbox{Address: supportAddr, PlusSeparator: "+"}))
			}
		}},
		{"RFC 3464 bounce names our message", "dsn_bounce.eml", func(t *testing.T, m *Message) {
			if m.Report == nil || !m.Report.Failed() || m.Report.OriginalMessageID != "BOUNCED_ID" || m.Report.Status != "5.1.1" {
				t.Fatalf("report = %+v", m.Report)
			}
			if !strings.Contains(m.Report.Diagnostic, "User unknown") || m.Report.Recipient != "gone@example.com" {
				t.Errorf("report = %+v", m.Report)
			}
		}},
		{"out-of-office reply is automatic", "auto_reply.eml", func(t *testing.T, m *Message) {
			if why := autoReplyBlock(m, func(string) bool { return false }); why != "Auto-Submitted: auto-replied" {
				t.Errorf("block = %q", why)
			}
		}},
		{"list mail is never answered", "list_message.eml", func(t *testing.T, m *Message) {
			if why := autoReplyBlock(m, func(string) bool { return false }); why == "" {
				t.Error("list mail may be answered")
			}
		}},
		{"forward without Message-ID: stable header hash, forwarded mail kept", "forwarded_no_message_id.eml", func(t *testing.T, m *Message) {
			again, _ := Parse(readMail(t, "forwarded_no_message_id.eml"), Limits{})
			if !strings.HasPrefix(m.ProviderID(), "h:") || m.ProviderID() != again.ProviderID() {
				t.Errorf("ids %q %q", m.ProviderID(), again.ProviderID())
			}
			fresh, quoted := m.transcriptText(san)
			if fresh != "See below, this went unanswered." || !strings.Contains(quoted, "The lid is missing.") {
				t.Errorf("fresh %q quoted %q", fresh, quoted)
			}
			if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "message/rfc822" {
				t.Errorf("attachments = %+v", m.Attachments)
			}
		}},
		{"broken mail: what can be read, with the problems named", "broken.eml", func(t *testing.T, m *Message) {
			if len(m.Problems) == 0 {
				t.Error("no problems noted")
			}
			if m.From != nil {
				t.Errorf("from = %+v", m.From)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			m, err := Parse(readMail(t, tc.file), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
		})
	}
}

func TestSplitQuoted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ desc, in, fresh string }{
		{"no history", "just text\n> not at end\nmore", "just text\n> not at end\nmore"},
		{"trailing > block", "yes please\n\n> old\n> older", "yes please"},
		{"original message marker", "ok\n-----Original Message-----\nFrom: x", "ok"},
		{"only history stays whole", "> a\n> b", "> a\n> b"},
		{"wrapped gmail attribution", "fine\nOn Tue, 1 Dec 2026 at 10:00, Shop Support <support@shop.example>\nwrote:\n> hi", "fine"},
	} {
		if fresh, _ := SplitQuoted(tc.in); fresh != tc.fresh {
			t.Errorf("%s: fresh = %q, want %q", tc.desc, fresh, tc.fresh)
		}
	}
}

func TestReplySubjectAndAck(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Re: RE: Aw: order": "Re: order", "": "Re: Your message", "Fwd: x": "Re: x"} {
		if got := replySubject(in); got != want {
			t.Errorf("replySubject(%q) = %q, want %q", in, got, want)
		}
	}
	if !isMailSystem("MAILER-DAEMON@x") || isMailSystem("noreply@x") {
		t.Error("isMailSystem")
	}
	if !isDaemon("MAILER-DAEMON@x") || !isDaemon("no-reply@x") || !isDaemon("postmaster@x") || isDaemon("ana@x") {
		t.Error("isDaemon")
	}
}

func TestFoldHTMLQuote(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ desc, in, fresh, quoted string }{
		{"gmail", `<div>New</div><div class="gmail_quote">On x wrote:<blockquote>old</blockquote></div>`, "New", "old"},
		{"apple", `<p>Yes</p><blockquote type="cite">old</blockquote>`, "Yes", "old"},
		{"outlook", `<p>Ok</p><div id="divRplyFwdMsg">From: x</div><div>old body</div>`, "Ok", "old body"},
		{"none", `<p>Just this</p>`, "Just this", ""},
	} {
		fresh, quoted := FoldHTMLQuote(tc.in)
		san := NewSanitizer()
		if got := san.Text(fresh); got != tc.fresh {
			t.Errorf("%s: fresh %q, want %q", tc.desc, got, tc.fresh)
		}
		if !strings.Contains(san.Text(quoted), tc.quoted) || (tc.quoted == "" && quoted != "") {
			t.Errorf("%s: quoted %q, want %q", tc.desc, quoted, tc.quoted)
		}
	}
}
