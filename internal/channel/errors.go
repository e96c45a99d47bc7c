package channel

import "errors"

// ErrUnknownMessage is returned by Core.UpdateDelivery when no sent
// message carries the provider id (a status for a message sent by another
// system on the same account).
var ErrUnknownMessage = errors.New("unknown provider message")

// ErrNotFound is returned for an unknown conversation id.
var ErrNotFound = errors.New("not found")
