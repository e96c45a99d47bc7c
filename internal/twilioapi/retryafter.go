package twilioapi

import (
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/retryafter"
)

// retryAfterDetail is the key under which errorBodyTransport puts a 429's
// Retry-After, in whole milliseconds, into the error body's "details",
// where Explain finds it: twilio-go's errors keep no response headers.
const retryAfterDetail = "retry_after_ms"

// retryAfter is the wait a 429 answer asks for in its Retry-After header;
// zero when it asks for none, at most retryafter.Max (the SMS channel
// waits a minute at most). A date is taken relative to the answer's own
// Date when that is readable, so our clock's difference from Twilio's
// does not count, else relative to now.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	base := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		base = d
	}
	return retryafter.Parse(v, base)
}
