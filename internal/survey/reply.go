package survey

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reply is what a customer's text says as an answer to the question.
type Reply struct {
	// Score is the rating 1–5; 0 when the text is no rating.
	Score int
	// Comment is the text after the rating ("2 the agent was rude" →
	// "the agent was rude"), trimmed; empty for a bare digit.
	Comment string
}

// Bare reports whether the reply is a rating and nothing else: it is
// recorded and opens no conversation.
func (r Reply) Bare() bool { return r.Score > 0 && r.Comment == "" }

// maxReplyBytes bounds what ParseReply reads; a rating is short, and
// longer texts are messages with a rating in front at most.
const maxReplyBytes = 4096

// ParseReply reads a survey reply. A rating is one digit 1–5 (ASCII,
// full-width or a keycap emoji) at the start, alone or followed by a
// separator: "4", " 5! ", "3/5", "2 the agent was rude", "1 - slow".
// "10", "4.5", "45" and "no" are no rating (Score 0) and stay messages.
// Text after the rating, less separators, is the Comment.
func ParseReply(text string) Reply {
	if len(text) > maxReplyBytes {
		text = text[:maxReplyBytes]
	}
	s := strings.TrimFunc(text, isSpace)
	score, rest, ok := leadingDigit(s)
	if !ok {
		return Reply{}
	}
	// "3/5", "3 / 5" and "3 of 5" say the scale, not a comment.
	rest = strings.TrimLeftFunc(rest, isSpace)
	for _, scale := range []string{"/5", "/ 5", "of 5", "out of 5"} {
		if r, ok := cutPrefixFold(rest, scale); ok {
			rest = r
			break
		}
	}
	if r, _ := utf8.DecodeRuneInString(rest); rest != "" && unicode.IsDigit(r) {
		return Reply{} // "45", "12": no rating
	}
	if len(rest) > 1 && (rest[0] == '.' || rest[0] == ',') && isDigitByte(rest[1]) {
		return Reply{} // "4.5", "4,5": no rating on our scale
	}
	comment := strings.TrimLeftFunc(rest, func(r rune) bool { return isSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	comment = strings.TrimRightFunc(comment, isSpace)
	comment = strings.ToValidUTF8(comment, "\uFFFD")
	return Reply{Score: score, Comment: comment}
}

// leadingDigit reads a rating digit at the start of s: ASCII 1–5,
// full-width １–５, or a keycap emoji ("4️⃣"). ok is false otherwise.
func leadingDigit(s string) (score int, rest string, ok bool) {
	r, n := utf8.DecodeRuneInString(s)
	switch {
	case r >= '1' && r <= '5':
		score = int(r - '0')
	case r >= '１' && r <= '５':
		score = int(r-'１') + 1
	default:
		return 0, s, false
	}
	rest = s[n:]
	// Keycap: digit, optional VS16, U+20E3.
	k := strings.TrimPrefix(rest, "\uFE0F")
	if strings.HasPrefix(k, "\u20E3") {
		rest = strings.TrimPrefix(k, "\u20E3")
	}
	return score, rest, true
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func isDigitByte(b byte) bool { return b >= '0' && b <= '9' }

func isSpace(r rune) bool { return unicode.IsSpace(r) || r == '\u200B' || r == '\uFEFF' }
