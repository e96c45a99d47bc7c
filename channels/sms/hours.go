package sms

import (
	"fmt"

	"github.com/switchboard/switchboard/internal/hours"
)

// BusinessHours are the weekly times someone answers texts.
//
// Deprecated: set business_hours on the queues instead (read in the
// workspace's time_zone), which chat, SMS and later voice and email share.
// This setting is still read: it applies to texts whose queue has no hours
// of its own, and the wiring logs a warning naming the replacement.
type BusinessHours struct {
	// TimeZone is an IANA zone name such as "Europe/Berlin". Zero means UTC.
	TimeZone string `yaml:"time_zone"`
	// Open lists the spans; a day may have several (lunch breaks).
	Open []hours.Span `yaml:"open"`
}

// OpenSpan is one opening span on some weekdays.
//
// Deprecated: use hours.Span.
type OpenSpan = hours.Span

// compileHours reads the deprecated channels.sms.business_hours.
func compileHours(h *BusinessHours) (*hours.Schedule, error) {
	if h == nil {
		return nil, nil
	}
	if len(h.Open) == 0 {
		return nil, fmt.Errorf("sms: business_hours: no open spans (leave business_hours out for always open)")
	}
	loc, err := hours.Zone(h.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("sms: business_hours.time_zone: %w", err)
	}
	s, err := hours.Compile(&hours.Week{Open: h.Open}, loc)
	if err != nil {
		return nil, fmt.Errorf("sms: business_hours: %w", err)
	}
	return s, nil
}

// hoursFor is the schedule that applies to queue: the queue's own, else the
// deprecated channel-wide one, else nil (always open).
func (c *Channel) hoursFor(queue string) *hours.Schedule {
	if c.queueHours != nil {
		if s := c.queueHours.Hours(queue); s != nil {
			return s
		}
	}
	return c.hours
}
