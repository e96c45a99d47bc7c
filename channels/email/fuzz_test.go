package email

import (
	"golang.org/x/net/html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMIMEToInbound drives the whole MIME → Inbound path: parse, thread
// hint, provider id, transcript text, sanitized HTML. Whatever the bytes,
// it must not panic, the provider id must be usable as a dedup key, the
// hint a list of whitespace-free keys within the core's limit, and what
// reaches agents valid UTF-8 with no script left in the HTML.
// The corpus is testdata/fuzz/FuzzMIMEToInbound plus the sample mails.
func FuzzMIMEToInbound(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "mail", "*.eml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	san := NewSanitizer()
	mb := &Mailbox{Address: supportAddr, ReplyAddress: true, PlusSeparator: "+"}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw, Limits{MaxMessageBytes: 1 << 20, MaxTextBytes: 64 << 10})
		if m == nil {
			t.Fatalf("nil message (err %v)", err)
		}
		pid := m.ProviderID()
		if pid == "" || pid == "h:" || len(pid) > 300 || strings.ContainsAny(pid, " \t\r\n") {
			t.Fatalf("provider id %q", pid)
		}
		hint := m.ThreadHint(replyKey(m, mb))
		if len(hint) > maxHint {
			t.Fatalf("hint of %d bytes", len(hint))
		}
		for _, k := range strings.Split(hint, " ") {
			if hint != "" && (k == "" || strings.ContainsAny(k, "\t\r\n<>")) {
				t.Fatalf("hint key %q in %q", k, hint)
			}
		}
		fresh, quoted := m.transcriptText(san)
		if !utf8.ValidString(fresh) || !utf8.ValidString(quoted) {
			t.Fatalf("invalid UTF-8 in text %q / %q", fresh, quoted)
		}
		if bad := activeHTML(san.HTML(m.HTML)); bad != "" {
			t.Fatalf("sanitized HTML still active (%s)", bad)
		}
		_ = autoReplyBlock(m, func(string) bool { return false })
	})
}

// activeHTML names what in sanitized HTML could run or load: a script,
// frame, object, style or form element, an event handler attribute, a
// javascript: or remote URL in src. Empty when there is none.
func activeHTML(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "iframe", "object", "embed", "style", "form", "link", "meta", "base", "svg", "math":
				return "element " + tok.Data
			}
			for _, a := range tok.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				switch {
				case strings.HasPrefix(a.Key, "on"):
					return "attribute " + a.Key
				case a.Key == "style":
					return "style attribute"
				case strings.Contains(v, "javascript:") || strings.Contains(v, "vbscript:"):
					return "script URL in " + a.Key
				case a.Key == "src" && !strings.HasPrefix(v, "cid:") && !strings.HasPrefix(v, "data:image/"):
					return "remote src " + v
				}
			}
		}
	}
}
