package email

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// The acknowledgement promises only what is true: a wait when one is known,
// the opening time outside business hours (never a wait then), else no time.
func TestAckTextTellsTheTruth(t *testing.T) {
	known := channel.Place{Known: true, Low: 10 * time.Minute, High: 22 * time.Minute}
	for _, tc := range []struct {
		desc, opens string
		place       channel.Place
		want, not   string
	}{
		{"open, estimate known", "", known, "usually within 25 minutes", "closed"},
		{"open, no estimate", "", channel.Place{}, "we cannot promise a time", "within"},
		{"closed", "tomorrow at 09:00 CET", known, "closed right now and open again tomorrow at 09:00 CET", "within"},
	} {
		got := ackText("cv_0123456789", tc.place, tc.opens)
		if !strings.Contains(got, tc.want) || strings.Contains(got, tc.not) || !strings.Contains(got, "#01234567") {
			t.Errorf("%s: %q", tc.desc, got)
		}
	}
}
