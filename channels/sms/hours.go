package sms

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BusinessHours are the weekly times someone answers texts.
type BusinessHours struct {
	// TimeZone is an IANA zone name such as "Europe/Berlin". Zero means UTC.
	TimeZone string `yaml:"time_zone"`
	// Open lists the spans; a day may have several (lunch breaks).
	Open []OpenSpan `yaml:"open"`
}

// OpenSpan is one opening span on some weekdays.
type OpenSpan struct {
	// Days is "mon-fri", "sat,sun", "mon" and so on (three-letter English
	// names; a range may wrap, as in "fri-mon").
	Days string `yaml:"days"`
	// From and To are "HH:MM" local times, From before To; To may be
	// "24:00". Spans past midnight are two spans.
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// schedule is BusinessHours compiled.
type schedule struct {
	loc   *time.Location
	spans []span
}

type span struct {
	days     [7]bool
	from, to int // minutes after midnight
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func compileHours(h *BusinessHours) (*schedule, error) {
	if h == nil {
		return nil, nil
	}
	loc := time.UTC
	if h.TimeZone != "" {
		l, err := time.LoadLocation(h.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("sms: business_hours.time_zone: %w", err)
		}
		loc = l
	}
	if len(h.Open) == 0 {
		return nil, fmt.Errorf("sms: business_hours: no open spans (leave business_hours out for always open)")
	}
	s := &schedule{loc: loc}
	for i, o := range h.Open {
		sp, err := compileSpan(o)
		if err != nil {
			return nil, fmt.Errorf("sms: business_hours.open[%d]: %w", i, err)
		}
		s.spans = append(s.spans, sp)
	}
	return s, nil
}

func compileSpan(o OpenSpan) (span, error) {
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

// isOpen reports whether t falls in a span.
func (s *schedule) isOpen(t time.Time) bool {
	l := t.In(s.loc)
	min := l.Hour()*60 + l.Minute()
	for _, sp := range s.spans {
		if sp.days[l.Weekday()] && min >= sp.from && min < sp.to {
			return true
		}
	}
	return false
}

// nextOpen is the first span start after t, within a week and a day.
func (s *schedule) nextOpen(t time.Time) (time.Time, bool) {
	l := t.In(s.loc)
	var starts []time.Time
	for d := 0; d <= 7; d++ {
		day := time.Date(l.Year(), l.Month(), l.Day()+d, 0, 0, 0, 0, s.loc)
		for _, sp := range s.spans {
			if !sp.days[day.Weekday()] {
				continue
			}
			start := time.Date(day.Year(), day.Month(), day.Day(), sp.from/60, sp.from%60, 0, 0, s.loc)
			if start.After(t) {
				starts = append(starts, start)
			}
		}
		if len(starts) > 0 {
			break
		}
	}
	if len(starts) == 0 {
		return time.Time{}, false
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	return starts[0], true
}

// describeOpening says when open is, seen from now, in words a customer
// reads in a text: "today at 09:00 CET", "tomorrow at 09:00 CET",
// "on Monday at 09:00 CET".
func describeOpening(now, open time.Time, loc *time.Location) string {
	n, o := now.In(loc), open.In(loc)
	clock := o.Format("15:04 MST")
	nd := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	od := time.Date(o.Year(), o.Month(), o.Day(), 0, 0, 0, 0, loc)
	switch days := int(od.Sub(nd).Hours()+12) / 24; days {
	case 0:
		return "today at " + clock
	case 1:
		return "tomorrow at " + clock
	default:
		return "on " + o.Weekday().String() + " at " + clock
	}
}
