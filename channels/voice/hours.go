package voice

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Hours says whether a queue is open. When it is closed, next is when it
// opens (zero when it never does). Business hours per queue are shared by
// every channel; the wiring passes that shared source, and ConfigHours
// serves until it exists.
type Hours interface {
	Open(queue string, t time.Time) (open bool, next time.Time)
}

// WeeklyHours are one queue's weekly open hours.
type WeeklyHours struct {
	// TimeZone is an IANA zone such as "Europe/Berlin". Zero: UTC.
	TimeZone string `yaml:"time_zone"`
	// Open lists the spans; a day may have several (a lunch break).
	Open []OpenSpan `yaml:"open"`
}

// OpenSpan is one opening span on some weekdays.
type OpenSpan struct {
	// Days is "mon-fri", "sat,sun", "mon"… (three-letter English names; a
	// range may wrap, as in "fri-mon").
	Days string `yaml:"days"`
	// From and To are "HH:MM" local times, From before To; To may be "24:00".
	From string `yaml:"from"`
	To   string `yaml:"to"`
}

// ConfigHours is Hours from the channel's configuration: per queue, with
// "*" for queues without their own entry; a queue with neither is always
// open.
type ConfigHours struct {
	queues map[string]weekly
}

type weekly struct {
	loc   *time.Location
	spans []openSpan
}

type openSpan struct {
	days     [7]bool
	from, to int // minutes after midnight
}

// NewConfigHours compiles per-queue hours; nil or empty means always open.
func NewConfigHours(byQueue map[string]WeeklyHours) (*ConfigHours, error) {
	h := &ConfigHours{queues: map[string]weekly{}}
	for q, wh := range byQueue {
		w := weekly{loc: time.UTC}
		if wh.TimeZone != "" {
			loc, err := time.LoadLocation(wh.TimeZone)
			if err != nil {
				return nil, fmt.Errorf("voice: business_hours.%s.time_zone: %w", q, err)
			}
			w.loc = loc
		}
		if len(wh.Open) == 0 {
			return nil, fmt.Errorf("voice: business_hours.%s: no open spans (leave the queue out for always open)", q)
		}
		for i, o := range wh.Open {
			sp, err := compileSpan(o)
			if err != nil {
				return nil, fmt.Errorf("voice: business_hours.%s.open[%d]: %w", q, i, err)
			}
			w.spans = append(w.spans, sp)
		}
		h.queues[q] = w
	}
	return h, nil
}

// Open implements Hours.
func (h *ConfigHours) Open(queue string, t time.Time) (bool, time.Time) {
	w, ok := h.queues[queue]
	if !ok {
		if w, ok = h.queues["*"]; !ok {
			return true, time.Time{}
		}
	}
	l := t.In(w.loc)
	now := l.Hour()*60 + l.Minute()
	for _, sp := range w.spans {
		if sp.days[l.Weekday()] && now >= sp.from && now < sp.to {
			return true, time.Time{}
		}
	}
	// The next start within eight days: every span recurs weekly.
	var next time.Time
	for d := 0; d <= 7 && next.IsZero(); d++ {
		day := time.Date(l.Year(), l.Month(), l.Day()+d, 0, 0, 0, 0, w.loc)
		for _, sp := range w.spans {
			start := time.Date(day.Year(), day.Month(), day.Day(), sp.from/60, sp.from%60, 0, 0, w.loc)
			if sp.days[day.Weekday()] && start.After(t) && (next.IsZero() || start.Before(next)) {
				next = start
			}
		}
	}
	return false, next
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func compileSpan(o OpenSpan) (openSpan, error) {
	var sp openSpan
	for _, part := range strings.Split(strings.ToLower(o.Days), ",") {
		first, last, isRange := strings.Cut(strings.TrimSpace(part), "-")
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
