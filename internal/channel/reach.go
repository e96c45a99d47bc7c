package channel

import (
	"context"
	"errors"
)

// Reachability is implemented by channels whose customers can refuse to be
// contacted (SMS: a customer who texted STOP). The core asks it before it
// starts a conversation to a customer; a channel that does not implement
// it may contact anyone.
type Reachability interface {
	// MayContact returns nil when we may write to address first, else an
	// error wrapping ErrOptedOut that says why in words an agent reads.
	MayContact(ctx context.Context, address string) error
}

// ErrOptedOut means the customer asked not to be contacted on the channel.
var ErrOptedOut = errors.New("the customer opted out")
