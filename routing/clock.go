package routing

import "time"

// Clock tells the engine the time. Tests inject a fake one; nil in Params
// means the real clock. Scripts take "now" from the calling gateway, so
// gateways' clocks should agree to well under an offer timeout (NTP does).
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
