package sms

import (
	"testing"
	"time"
)

func TestBusinessHours(t *testing.T) {
	t.Parallel()
	s, err := compileHours(&BusinessHours{TimeZone: "Europe/Berlin", Open: []OpenSpan{
		{Days: "mon-fri", From: "09:00", To: "12:30"},
		{Days: "mon-fri", From: "13:30", To: "18:00"},
		{Days: "sat", From: "10:00", To: "14:00"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	berlin := s.loc
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
	}
	for _, tc := range tests {
		if got := s.isOpen(tc.now); got != tc.open {
			t.Errorf("%s: isOpen = %v", tc.desc, got)
		}
		if tc.open {
			continue
		}
		next, ok := s.nextOpen(tc.now)
		if got := describeOpening(tc.now, next, s.loc); !ok || got != tc.nextOpen {
			t.Errorf("%s: next opening %q, want %q", tc.desc, got, tc.nextOpen)
		}
	}
}

func TestBusinessHoursErrors(t *testing.T) {
	t.Parallel()
	for _, h := range []*BusinessHours{
		{TimeZone: "Mars/Olympus", Open: []OpenSpan{{Days: "mon", From: "09:00", To: "17:00"}}},
		{},
		{Open: []OpenSpan{{Days: "mon-fry", From: "09:00", To: "17:00"}}},
		{Open: []OpenSpan{{Days: "mon", From: "9", To: "17:00"}}},
		{Open: []OpenSpan{{Days: "mon", From: "17:00", To: "09:00"}}},
		{Open: []OpenSpan{{Days: "mon", From: "09:00", To: "24:01"}}},
	} {
		if _, err := compileHours(h); err == nil {
			t.Errorf("compileHours(%+v) accepted", h)
		}
	}
	s, err := compileHours(&BusinessHours{Open: []OpenSpan{{Days: "fri-mon", From: "00:00", To: "24:00"}}})
	if err != nil {
		t.Fatal(err)
	}
	if !s.isOpen(time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC)) || s.isOpen(time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)) {
		t.Fatal("wrapping day range wrong")
	}
}
