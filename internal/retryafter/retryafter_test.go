package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

var retryBase = time.Date(2026, 11, 22, 19, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, value string
		want        time.Duration
	}{
		{"seconds", "120", 2 * time.Minute},
		{"zero", "0", 0},
		{"leading zeros", "00030", 30 * time.Second},
		{"spaces around", " \t30 ", 30 * time.Second},
		{"a day", "86400", Max},
		{"past a day", "86401", Max},
		{"more digits than int64 holds", strings.Repeat("9", 40), Max},
		{"IMF-fixdate", "Sun, 22 Nov 2026 19:01:30 GMT", 90 * time.Second},
		{"RFC 850 date", "Sunday, 22-Nov-26 19:00:45 GMT", 45 * time.Second},
		{"asctime date", "Sun Nov 22 19:05:00 2026", 5 * time.Minute},
		{"date now", "Sun, 22 Nov 2026 19:00:00 GMT", 0},
		{"date past", "Sun, 06 Nov 1994 08:49:37 GMT", 0},
		{"date next year", "Mon, 22 Nov 2027 19:00:00 GMT", Max},
		{"date far ahead", "Fri, 31 Dec 9999 23:59:59 GMT", Max},
		{"empty", "", 0},
		{"negative", "-30", 0},
		{"plus sign", "+30", 0},
		{"fraction", "1.5", 0},
		{"unit", "30s", 0},
		{"list", "30, 60", 0},
		{"space inside", "3 0", 0},
		{"hex", "0x1e", 0},
		{"non-ASCII digits", "٣٠", 0},
		{"date without zone", "Sun, 22 Nov 2026 19:01:30", 0},
		{"words", "later please", 0},
	}
	for _, tc := range tests {
		if got := Parse(tc.value, retryBase); got != tc.want {
			t.Errorf("%s: Parse(%q) = %s, want %s", tc.desc, tc.value, got, tc.want)
		}
	}
}

// FuzzParse feeds arbitrary header values to the parser: it must
// never panic, never answer a negative wait or one beyond Max,
// and read what it accepts as RFC 9110 says. The kept corpus is in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, v := range []string{"30", "0", "86401", strings.Repeat("9", 30), "-1", "1.5", " 7 ",
		"Sun, 22 Nov 2026 19:01:30 GMT", "Sunday, 22-Nov-26 19:00:45 GMT", "Sun Nov 22 19:05:00 2026",
		"Sun, 06 Nov 1994 08:49:37 GMT", "soon", ""} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := Parse(v, retryBase)
		if got < 0 || got > Max {
			t.Fatalf("Parse(%q) = %s: outside 0 to %s", v, got, Max)
		}
		s := strings.Trim(v, " \t")
		if again := Parse(s, retryBase); again != got {
			t.Fatalf("Parse(%q) = %s, but %s without the spaces around", v, got, again)
		}
		if digits(s) {
			// Delta-seconds: whole seconds, as written up to the bound.
			if n, err := strconv.ParseUint(s, 10, 63); err == nil && n <= uint64(Max/time.Second) {
				if got != time.Duration(n)*time.Second {
					t.Fatalf("Parse(%q) = %s, want %d s", v, got, n)
				}
			} else if got != Max {
				t.Fatalf("Parse(%q) = %s, want the bound %s", v, got, Max)
			}
			return
		}
		at, err := http.ParseTime(s)
		if err != nil {
			if got != 0 {
				t.Fatalf("Parse(%q) = %s for neither seconds nor a date", v, got)
			}
			return
		}
		// An HTTP-date: the time until it, as a date written back again.
		if got > 0 && got < Max {
			if back := Parse(retryBase.Add(got).Format(http.TimeFormat), retryBase); back != got || !at.Equal(retryBase.Add(got)) {
				t.Fatalf("Parse(%q) = %s, but its date written back reads %s", v, got, back)
			}
		}
	})
}
