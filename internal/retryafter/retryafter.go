// Package retryafter reads an HTTP Retry-After value, the one set of rules
// for every answer that asks us to wait: Twilio's 429s (internal/twilioapi)
// and webhook endpoints' (internal/webhook).
package retryafter

import (
	"net/http"
	"strings"
	"time"
)

// Max bounds the wait a Retry-After is believed to ask for. Past a day the
// number says only "a long time"; bounding it keeps every sum with it far
// from overflowing a time.Duration (a wait that overflowed into the past
// would retry at once), and how long is too long to wait is the caller's
// decision.
const Max = 24 * time.Hour

// Parse reads a Retry-After value (RFC 9110, section 10.2.3):
// delta-seconds, or an HTTP-date in any of the three forms a recipient
// must accept, taken relative to base. It returns zero for an empty or
// malformed value (a sign, a fraction, a list, words) and for a date not
// after base, and at most Max, however many digits.
func Parse(v string, base time.Time) time.Duration {
	v = strings.Trim(v, " \t")
	if v == "" {
		return 0
	}
	if digits(v) {
		const most = int64(Max / time.Second)
		var secs int64
		for i := 0; i < len(v); i++ {
			// Saturates rather than overflows: "99999999999999999999" is
			// a long time, not a negative one.
			if secs = secs*10 + int64(v[i]-'0'); secs > most {
				return Max
			}
		}
		return time.Duration(secs) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(at.Sub(base), 0), Max) // Sub saturates too
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
