// Package hours is the one definition of business hours and of the
// workspace's local day. A queue's weekly opening spans are read in the
// workspace time zone; chat, SMS and (later) voice and email ask the same
// Schedule whether someone answers now and when they next will, and the
// supervisor figures ask Day where "today" begins.
package hours

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Week is the configuration of a queue's business hours (the
// business_hours section of a queue). Zero Open spans mean always open.
type Week struct {
	// Open lists the spans; a day may have several (lunch breaks).
	Open []Span `yaml:"open"`
}

// Span is one opening span on some weekdays.
type Span struct {
	// Days is "mon-fri", "sat,sun", "mon" and so on (three-letter English
	// names; a range may wrap, as in "fri-mon").
	Days string `yaml:"days"`
	// From and To are "HH:MM" local times, From before To; To may be
	// "24:00". Spans past midnight are two spans.
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// Schedule is a Week compiled in one time zone. A nil *Schedule is always
// open, so callers need not check whether hours were configured.
type Schedule struct {
	loc   *time.Location
	spans []span
}

type span struct {
	days     [7]bool
	from, to int // minutes after local midnight
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Zone loads an IANA time zone name ("America/Los_Angeles"); "" is UTC.
func Zone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("hours: time zone %q: want an IANA name such as Europe/Berlin: %w", name, err)
	}
	return loc, nil
}

// Compile checks w and reads it in loc (nil: UTC). A nil or empty Week
// gives a nil Schedule: always open.
func Compile(w *Week, loc *time.Location) (*Schedule, error) {
	if w == nil || len(w.Open) == 0 {
		return nil, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	s := &Schedule{loc: loc}
	for i, o := range w.Open {
		sp, err := compileSpan(o)
		if err != nil {
			return nil, fmt.Errorf("hours: open[%d]: %w", i, err)
		}
		s.spans = append(s.spans, sp)
	}
	return s, nil
}

func compileSpan(o Span) (span, error) {
	var sp span
	for _, part := range strings.Split(strings.ToLower(o.Days), ",") {
		part = strings.TrimSpace(part)
		first, last, isRange := strings.Cut(part, "-")
		a, ok := dayNames[strings.TrimSpace(first)]
		if !ok {
			return sp, fmt.Errorf("days %q: unknown day %q", o.Days, first)
		}
		b := a
		if isRange {
			if b, ok = dayNames[strings.TrimSpace(last)]; !ok {
				return sp, fmt.Errorf("days %q: unknown day %q", o.Days, last)
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			sp.days[d] = true
			if d == b {
				break
			}
		}
	}
	var err error
	if sp.from, err = clockMinutes(o.From); err != nil {
		return sp, fmt.Errorf("from: %w", err)
	}
	if sp.to, err = clockMinutes(o.To); err != nil {
		return sp, fmt.Errorf("to: %w", err)
	}
	if sp.from >= sp.to {
		return sp, fmt.Errorf("from %s is not before to %s", o.From, o.To)
	}
	return sp, nil
}

func clockMinutes(s string) (int, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(mm) != 2 || h < 0 || m < 0 || m > 59 || h*60+m > 24*60 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return h*60 + m, nil
}

// Location is the zone the schedule is read in (UTC for a nil Schedule).
func (s *Schedule) Location() *time.Location {
	if s == nil {
		return time.UTC
	}
	return s.loc
}

// IsOpen reports whether t falls in a span. A nil Schedule is always open.
func (s *Schedule) IsOpen(t time.Time) bool {
	if s == nil {
		return true
	}
	l := t.In(s.loc)
	m := l.Hour()*60 + l.Minute()
	for _, sp := range s.spans {
		if sp.days[l.Weekday()] && m >= sp.from && m < sp.to {
			return true
		}
	}
	return false
}

// NextOpen is the first span start after t, within eight days; ok is false
// for a nil Schedule (never closed).
func (s *Schedule) NextOpen(t time.Time) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	l := t.In(s.loc)
	var starts []time.Time
	for d := 0; d <= 7 && len(starts) == 0; d++ {
		day := time.Date(l.Year(), l.Month(), l.Day()+d, 0, 0, 0, 0, s.loc)
		for _, sp := range s.spans {
			if !sp.days[day.Weekday()] {
				continue
			}
			// time.Date normalizes a local time skipped by a DST change
			// forward, so a span starting in the gap starts at its end.
			start := time.Date(day.Year(), day.Month(), day.Day(), sp.from/60, sp.from%60, 0, 0, s.loc)
			if start.After(t) {
				starts = append(starts, start)
			}
		}
	}
	if len(starts) == 0 {
		return time.Time{}, false
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	return starts[0], true
}

// Describe says when open is, seen from now, in the schedule's zone, in
// words a customer reads: "today at 09:00 CET", "tomorrow at 09:00 CET",
// "on Monday at 09:00 CET".
func (s *Schedule) Describe(now, open time.Time) string {
	loc := s.Location()
	n, o := now.In(loc), open.In(loc)
	clock := o.Format("15:04 MST")
	switch days := DaysBetween(n, o, loc); days {
	case 0:
		return "today at " + clock
	case 1:
		return "tomorrow at " + clock
	default:
		return "on " + o.Weekday().String() + " at " + clock
	}
}

// Day returns the start of t's local day in loc (nil: UTC): where "today"
// begins for a workspace in that zone. Days are 23 or 25 hours long across
// a DST change; a midnight skipped by one starts the day at the first
// instant that exists.
func Day(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}

// NextDay is the start of the local day after the one t falls in.
func NextDay(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+1, 0, 0, 0, 0, loc)
}

// DaysBetween counts local calendar days from a to b in loc (0: same day).
func DaysBetween(a, b time.Time, loc *time.Location) int {
	if loc == nil {
		loc = time.UTC
	}
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	// Calendar dates compared in UTC, where every day has 24 hours.
	return int(time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
}

// Source gives a queue's business hours; a nil Schedule means always
// open. Queues is one; every channel and the desk ask through it.
type Source interface {
	Hours(queue string) *Schedule
}

// Queues holds each queue's compiled business hours; a queue not listed is
// always open. Channels ask it through their own one-method interfaces.
type Queues map[string]*Schedule

// Hours returns queue's schedule, nil (always open) when it has none.
func (q Queues) Hours(queue string) *Schedule { return q[queue] }

// QueueWeek is one queue's business hours as configured: the queue's name
// and its business_hours section (nil: always open). Other fields of a
// queue's configuration are routing's and ignored here.
type QueueWeek struct {
	Name          string `yaml:"name"`
	BusinessHours *Week  `yaml:"business_hours"`
}

// CompileQueues compiles each queue's hours in loc, the workspace's zone.
// A queue without hours is left out (always open).
func CompileQueues(qs []QueueWeek, loc *time.Location) (Queues, error) {
	out := Queues{}
	for i, q := range qs {
		s, err := Compile(q.BusinessHours, loc)
		if err != nil {
			return nil, fmt.Errorf("queues[%d].business_hours: %w", i, err)
		}
		if s != nil {
			out[q.Name] = s
		}
	}
	return out, nil
}
