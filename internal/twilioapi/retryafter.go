package twilioapi

import (
	"net/http"
	"strings"
	"time"
)

// maxRetryAfter bounds the wait a Retry-After is believed to ask for.
// Past a day the number says only "a long time"; bounding it keeps every
// sum with it far from overflowing a time.Duration, and how long is too
// long to wait is the caller's decision (the SMS channel waits a minute
// at most).
const maxRetryAfter = 24 * time.Hour

// retryAfterDetail is the key under which errorBodyTransport puts a 429's
// Retry-After, in whole milliseconds, into the error body's "details",
// where Explain finds it: twilio-go's errors keep no response headers.
const retryAfterDetail = "retry_after_ms"

// parseRetryAfter reads a Retry-After value (RFC 9110, section 10.2.3):
// delta-seconds, or an HTTP-date in any of the three forms a recipient
// must accept, taken relative to base. It returns zero for an empty or
// malformed value (a sign, a fraction, a list, words) and for a date not
// after base, and at most maxRetryAfter, however many digits.
func parseRetryAfter(v string, base time.Time) time.Duration {
	v = strings.Trim(v, " \t")
	if v == "" {
		return 0
	}
	if digits(v) {
		const most = int64(maxRetryAfter / time.Second)
		var secs int64
		for i := 0; i < len(v); i++ {
			// Saturates rather than overflows: "99999999999999999999" is
			// a long time, not a negative one.
			if secs = secs*10 + int64(v[i]-'0'); secs > most {
				return maxRetryAfter
			}
		}
		return time.Duration(secs) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(at.Sub(base), 0), maxRetryAfter) // Sub saturates too
}

// retryAfter is the wait a 429 answer asks for in its Retry-After header;
// zero when it asks for none. A date is taken relative to the answer's
// own Date when that is readable, so our clock's difference from
// Twilio's does not count, else relative to now.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	base := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		base = d
	}
	return parseRetryAfter(v, base)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
