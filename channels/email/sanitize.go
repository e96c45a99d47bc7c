package email

import (
	"html"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// Sanitizer makes a customer's HTML safe to show an agent: no scripts, no
// event handlers, no styles that could overlay the console, no forms, no
// remote content loaded without a click (images only from cid: parts or
// data: URIs); links open in a new tab without referrer. The console also
// shows the result in a sandboxed frame, so a gap here still runs nothing.
type Sanitizer struct {
	display *bluemonday.Policy
	strip   *bluemonday.Policy
}

// NewSanitizer builds the policies once; they are safe for concurrent use.
func NewSanitizer() *Sanitizer {
	// Built from nothing rather than from UGCPolicy, which lets images load
	// from anywhere (relative URLs included).
	p := bluemonday.NewPolicy()
	p.AllowURLSchemes("http", "https", "mailto", "cid")
	p.RequireParseableURLs(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowAttrs("href").OnElements("a")
	p.AllowElements("p", "br", "div", "span", "b", "i", "u", "s", "strong", "em", "small", "big", "sub", "sup",
		"blockquote", "pre", "code", "ul", "ol", "li", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
		"table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "center", "font", "del", "ins", "abbr")
	p.AllowAttrs("dir", "title", "lang").Globally()
	p.AllowAttrs("align", "valign", "colspan", "rowspan", "width", "bgcolor").OnElements("td", "th", "tr", "table")
	p.AllowAttrs("align").OnElements("p", "div", "h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("color").OnElements("font")
	// Remote images are tracking pixels more often than not: keep the alt
	// text, drop the fetch; inline parts (cid:) and data: images stay.
	p.AllowDataURIImages()
	p.AllowAttrs("src").Matching(regexp.MustCompile(`^(cid:|data:image/)`)).OnElements("img")
	p.AllowAttrs("alt", "width", "height").OnElements("img")
	return &Sanitizer{display: p, strip: bluemonday.StrictPolicy()}
}

// HTML returns the sanitized HTML for display.
func (s *Sanitizer) HTML(h string) string { return s.display.Sanitize(h) }

var (
	blockEnd   = regexp.MustCompile(`(?i)</(p|div|tr|li|h[1-6]|blockquote|table)\s*>|<br\s*/?>`)
	dropBlocks = regexp.MustCompile(`(?is)<(script|style|head|title)[^>]*>.*?</(script|style|head|title)\s*>`)
	spaces     = regexp.MustCompile(`[ \t\x{00a0}]+`)
	blankLines = regexp.MustCompile(`\n\s*\n\s*\n+`)
)

// Text turns HTML into plain text for the transcript when a mail has no
// text/plain part: block ends become line breaks, tags go, entities are
// decoded.
func (s *Sanitizer) Text(h string) string {
	h = dropBlocks.ReplaceAllString(h, "")
	h = blockEnd.ReplaceAllString(h, "\n")
	t := html.UnescapeString(s.strip.Sanitize(h))
	t = spaces.ReplaceAllString(t, " ")
	lines := strings.Split(t, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	t = blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.TrimSpace(t)
}
