package sms

import (
	"context"

	"github.com/switchboard/switchboard/internal/channel"
)

// OptOuts remembers which customers asked not to be texted. address is the
// customer's E.164 number. conversation.OptOuts serves: the core reads the
// same store along a stored message and a claimed reply, so most sends
// need not ask it (channel.OptOut).
type OptOuts interface {
	SetOptOut(ctx context.Context, ch channel.Name, address string, optedOut bool) error
	IsOptedOut(ctx context.Context, ch channel.Name, address string) (bool, error)
}
