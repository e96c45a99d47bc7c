package conversation

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/channel"
)

// NormalizeAddress returns the canonical form of a customer address on a
// channel, the form identities are keyed by, or an error naming why it is
// not one:
//
//   - sms, voice: E.164, by channel.NormalizeNumber (the one phone
//     normalizer): spaces, dots, dashes and parentheses are dropped and a
//     leading 00 becomes +; the result is + and 7 to 15 digits, not
//     starting with 0. Numbers without a country code are refused rather
//     than guessed; a customer never writes from a short code.
//   - email: trimmed and lower-cased (Switchboard treats the local part as
//     case-insensitive, as nearly every mail system does); one @, a
//     non-empty local part and a dotted domain, no spaces or control
//     characters, at most 254 bytes.
//   - chat: a visitor id of 1 to 128 letters, digits and "-_.:".
//
// NormalizeAddress(ch, NormalizeAddress(ch, a)) == NormalizeAddress(ch, a).
func NormalizeAddress(ch channel.Name, addr string) (string, error) {
	switch ch {
	case channel.SMS, channel.Voice:
		return normalizePhone(addr)
	case channel.Email:
		return normalizeEmail(addr)
	case channel.Chat:
		return normalizeVisitor(addr)
	default:
		return "", &FieldError{Field: "channel", Reason: "unknown channel " + strconv.Quote(string(ch))}
	}
}

// identKind is the identity namespace of a channel: SMS and voice share
// one, because a phone number is the same person whether it texts or calls.
func identKind(ch channel.Name) string {
	if ch == channel.SMS || ch == channel.Voice {
		return "phone"
	}
	return string(ch)
}

func normalizePhone(addr string) (string, error) {
	n, err := channel.NormalizeNumber(addr, false)
	if err != nil {
		return "", &FieldError{Field: "address", Reason: strings.TrimPrefix(err.Error(), channel.ErrNotE164.Error()+": ")}
	}
	return n, nil
}

func normalizeEmail(addr string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(addr))
	if s == "" || len(s) > 254 || !utf8.ValidString(s) {
		return "", &FieldError{Field: "address", Reason: "email address must be 1 to 254 bytes of UTF-8"}
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("<>(),;:\"[]\\", r) {
			return "", &FieldError{Field: "address", Reason: "email address has a space, control or special character"}
		}
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') {
		return "", &FieldError{Field: "address", Reason: "email address needs exactly one @ after a local part"}
	}
	domain := s[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", &FieldError{Field: "address", Reason: "email domain must be a dotted name"}
	}
	// ToLower may change the byte length of some runes; re-check so the
	// result stays a fixed point.
	if strings.ToLower(s) != s {
		return "", &FieldError{Field: "address", Reason: "email address does not lower-case stably"}
	}
	return s, nil
}

func normalizeVisitor(addr string) (string, error) {
	s := strings.TrimSpace(addr)
	if s == "" || len(s) > 128 {
		return "", &FieldError{Field: "address", Reason: "visitor id must be 1 to 128 characters"}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return "", &FieldError{Field: "address", Reason: "visitor id may hold only letters, digits and -_.:"}
		}
	}
	return s, nil
}
