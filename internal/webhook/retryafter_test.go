package webhook

import (
	"net/http"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/retryafter"
)

// TestRetryAfterIsReadWithinBounds: an endpoint's Retry-After is whole
// seconds or a date; a number too large for a Duration is a long wait,
// not one that overflows into the past (a retry at once), and a sign or
// words ask for nothing.
func TestRetryAfterIsReadWithinBounds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"30", 30 * time.Second},
		{"0", 0},
		{"9999999999", retryafter.Max},
		{"99999999999999999999999", retryafter.Max},
		{"+30", 0},
		{"-30", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"", 0},
	}
	for _, tc := range tests {
		if got := retryAfter(tc.header, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}
