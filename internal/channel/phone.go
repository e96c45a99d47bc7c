package channel

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotE164 is wrapped by NormalizeNumber's errors.
var ErrNotE164 = errors.New("not an E.164 phone number")

// NormalizeNumber returns s as E.164 (+ and 7 to 15 digits, the first not
// 0). It is the one phone-number normalizer: SMS and voice channels,
// customer identities and the configuration's numbers all key by its
// result. It forgives the punctuation people type in configuration files
// and consoles (spaces, dashes, dots, parentheses) and a 00 international
// prefix, but it does not guess a country for national numbers: Twilio
// always sends E.164, so a number without a country code is an error the
// operator should see. With shortCode set, 3 to 8 bare digits (a short
// code, which can only be our side of a conversation) are accepted as they
// are.
func NormalizeNumber(s string, shortCode bool) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("%w: %q is not a digit", ErrNotE164, r)
		}
	}
	n := b.String()
	if strings.HasPrefix(n, "00") {
		n = "+" + n[2:]
	}
	if !strings.HasPrefix(n, "+") {
		if shortCode && len(n) >= 3 && len(n) <= 8 && n == strings.TrimSpace(s) {
			return n, nil
		}
		return "", fmt.Errorf("%w: it must start with + and a country code", ErrNotE164)
	}
	digits := n[1:]
	switch {
	case len(digits) < 7 || len(digits) > 15:
		return "", fmt.Errorf("%w: it must have 7 to 15 digits", ErrNotE164)
	case digits[0] == '0':
		return "", fmt.Errorf("%w: a country code cannot start with 0", ErrNotE164)
	}
	return n, nil
}
