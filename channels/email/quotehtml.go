package email

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// FoldHTMLQuote takes the quoted history out of a mail's HTML the way the
// common clients mark it: Gmail's div.gmail_quote, Apple Mail's and
// Thunderbird's blockquote type=cite (with Thunderbird's
// div.moz-cite-prefix), Outlook's div#divRplyFwdMsg or #appendonsend and
// everything after it. It returns the HTML without the history and the
// history as HTML; fresh is h unchanged when nothing is marked.
func FoldHTMLQuote(h string) (fresh, quoted string) {
	doc, err := html.Parse(strings.NewReader(h))
	if err != nil {
		return h, ""
	}
	var cut []*html.Node
	var walk func(n *html.Node) bool
	walk = func(n *html.Node) bool {
		if n.Type == html.ElementNode && isQuoteMark(n) {
			// Outlook's marker starts the history: it and every following
			// sibling go.
			outlook := attr(n, "id") == "divRplyFwdMsg" || attr(n, "id") == "appendonsend"
			for s := n; s != nil; s = s.NextSibling {
				cut = append(cut, s)
				if !outlook && !(n.Data == "div" && hasClass(n, "moz-cite-prefix")) {
					break
				}
				if !outlook && s != n && s.Type == html.ElementNode && s.Data == "blockquote" {
					break
				}
			}
			return true
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if walk(c) {
				return true
			}
		}
		return false
	}
	walk(doc)
	if len(cut) == 0 {
		return h, ""
	}
	var q bytes.Buffer
	for _, n := range cut {
		_ = html.Render(&q, n)
		n.Parent.RemoveChild(n)
	}
	var f bytes.Buffer
	if err := html.Render(&f, doc); err != nil {
		return h, ""
	}
	return f.String(), q.String()
}

func isQuoteMark(n *html.Node) bool {
	switch {
	case hasClass(n, "gmail_quote"), hasClass(n, "moz-cite-prefix"), hasClass(n, "yahoo_quoted"):
		return true
	case n.Data == "blockquote" && attr(n, "type") == "cite":
		return true
	case attr(n, "id") == "divRplyFwdMsg" || attr(n, "id") == "appendonsend":
		return true
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, c string) bool {
	for _, f := range strings.Fields(attr(n, "class")) {
		if f == c {
			return true
		}
	}
	return false
}
