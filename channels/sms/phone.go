package sms

import (
	"errors"
	"strings"
)

// errNotE164 is wrapped by normalizeNumber's errors.
var errNotE164 = errors.New("not an E.164 phone number")

// normalizeNumber returns s as E.164 (+ and 7 to 15 digits, the first not
// 0). It forgives the punctuation people type in configuration files and
// consoles (spaces, dashes, dots, parentheses) and a 00 international
// prefix, but it does not guess a country for national numbers: Twilio
// always sends E.164, so a number without a country code is an error the
// operator should see. With shortCode set, 3 to 8 bare digits (a short
// code, which can only be our side) are accepted as they are.
func normalizeNumber(s string, shortCode bool) (string, error) {
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
			return "", errNotE164
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
		return "", errNotE164
	}
	digits := n[1:]
	if len(digits) < 7 || len(digits) > 15 || digits[0] == '0' || strings.Contains(digits, "+") {
		return "", errNotE164
	}
	return n, nil
}
