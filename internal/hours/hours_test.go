package hours

import (
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := Zone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestSchedule(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	s, err := Compile(&Week{Open: []Span{
		{Days: "mon-fri", From: "09:00", To: "12:30"},
		{Days: "mon-fri", From: "13:30", To: "18:00"},
		{Days: "sat", From: "10:00", To: "14:00"},
	}}, berlin)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, berlin) } // 23 Nov 2026 is a Monday
	tests := []struct {
		desc     string
		now      time.Time
		open     bool
		nextOpen string
	}{
		{"monday morning", at(23, 9, 0), true, ""},
		{"lunch", at(23, 12, 45), false, "today at 13:30 CET"},
		{"evening", at(23, 18, 0), false, "tomorrow at 09:00 CET"},
		{"friday night", at(27, 22, 0), false, "tomorrow at 10:00 CET"},
		{"saturday afternoon", at(28, 15, 0), false, "on Monday at 09:00 CET"},
		{"sunday", at(29, 11, 0), false, "tomorrow at 09:00 CET"},
		{"UTC instant converted", time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC), true, ""},
		{"UTC instant before local opening", time.Date(2026, 11, 23, 7, 59, 0, 0, time.UTC), false, "today at 09:00 CET"},
	}
	for _, tc := range tests {
		if got := s.IsOpen(tc.now); got != tc.open {
			t.Errorf("%s: IsOpen = %v", tc.desc, got)
		}
		if tc.open {
			continue
		}
		next, ok := s.NextOpen(tc.now)
		if got := s.Describe(tc.now, next); !ok || got != tc.nextOpen {
			t.Errorf("%s: next opening %q, want %q", tc.desc, got, tc.nextOpen)
		}
	}
}

// A schedule follows local clock time across a DST change: 09:00 in Los
// Angeles is 17:00 UTC before 8 March 2026 and 16:00 UTC after.
func TestScheduleAcrossDST(t *testing.T) {
	t.Parallel()
	la := mustZone(t, "America/Los_Angeles")
	s, err := Compile(&Week{Open: []Span{{Days: "mon-sun", From: "09:00", To: "17:00"}}}, la)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Date(2026, 3, 7, 16, 30, 0, 0, time.UTC) // Sat 08:30 PST
	after := time.Date(2026, 3, 9, 16, 30, 0, 0, time.UTC)  // Mon 09:30 PDT
	if s.IsOpen(before) {
		t.Error("08:30 PST counted open")
	}
	if !s.IsOpen(after) {
		t.Error("09:30 PDT counted closed")
	}
	// Saturday evening: the next opening is Sunday 09:00 PDT, the day the
	// clocks went forward, which is 16:00 UTC.
	next, ok := s.NextOpen(time.Date(2026, 3, 8, 2, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 3, 8, 16, 0, 0, 0, time.UTC); !ok || !next.Equal(want) {
		t.Errorf("next opening %v, want %v", next.UTC(), want)
	}
}

func TestNilScheduleIsAlwaysOpen(t *testing.T) {
	t.Parallel()
	s, err := Compile(nil, nil)
	if err != nil || s != nil {
		t.Fatalf("Compile(nil) = %v, %v", s, err)
	}
	if !s.IsOpen(time.Now()) {
		t.Error("nil schedule closed")
	}
	if _, ok := s.NextOpen(time.Now()); ok {
		t.Error("nil schedule has a next opening")
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	for _, w := range []*Week{
		{Open: []Span{{Days: "mon-fry", From: "09:00", To: "17:00"}}},
		{Open: []Span{{Days: "mon", From: "9", To: "17:00"}}},
		{Open: []Span{{Days: "mon", From: "17:00", To: "09:00"}}},
		{Open: []Span{{Days: "mon", From: "09:00", To: "24:01"}}},
	} {
		if _, err := Compile(w, time.UTC); err == nil {
			t.Errorf("Compile(%+v) accepted", w)
		}
	}
	if _, err := Zone("Mars/Olympus"); err == nil {
		t.Error("Zone accepted Mars/Olympus")
	}
	s, err := Compile(&Week{Open: []Span{{Days: "fri-mon", From: "00:00", To: "24:00"}}}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if !s.IsOpen(time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC)) || s.IsOpen(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)) {
		t.Fatal("wrapping day range wrong")
	}
}

// Day puts "today" at local midnight: on both sides of it, and on the days
// a DST change makes 23 or 25 hours long.
func TestDay(t *testing.T) {
	t.Parallel()
	la := mustZone(t, "America/Los_Angeles")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		desc      string
		now       string
		day, next string
	}{
		{"a minute before local midnight (already tomorrow in UTC)", "2026-11-24T07:59:00Z", "2026-11-23T08:00:00Z", "2026-11-24T08:00:00Z"},
		{"local midnight", "2026-11-24T08:00:00Z", "2026-11-24T08:00:00Z", "2026-11-25T08:00:00Z"},
		{"4 pm local, after midnight UTC", "2026-11-25T00:30:00Z", "2026-11-24T08:00:00Z", "2026-11-25T08:00:00Z"},
		{"spring forward: a 23-hour day", "2026-03-08T20:00:00Z", "2026-03-08T08:00:00Z", "2026-03-09T07:00:00Z"},
		{"fall back: a 25-hour day", "2026-11-01T20:00:00Z", "2026-11-01T07:00:00Z", "2026-11-02T08:00:00Z"},
	}
	for _, tc := range tests {
		now := utc(tc.now)
		if got := Day(now, la); !got.Equal(utc(tc.day)) {
			t.Errorf("%s: Day = %v, want %s", tc.desc, got.UTC(), tc.day)
		}
		if got := NextDay(now, la); !got.Equal(utc(tc.next)) {
			t.Errorf("%s: NextDay = %v, want %s", tc.desc, got.UTC(), tc.next)
		}
	}
	if got := Day(utc("2026-11-24T07:59:00Z"), nil); !got.Equal(utc("2026-11-24T00:00:00Z")) {
		t.Errorf("nil zone: Day = %v, want UTC midnight", got)
	}
}
