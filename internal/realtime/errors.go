package realtime

import (
	"errors"
	"fmt"
)

// Close codes the hub sends. The standard ones are from RFC 6455; the 4xxx
// ones are Switchboard's and are documented in docs/protocol.md.
const (
	CloseNormal          = 1000
	CloseGoingAway       = 1001
	CloseUnsupportedData = 1003
	CloseAbnormal        = 1006 // never sent: recorded when the socket just broke
	CloseInvalidPayload  = 1007
	ClosePolicyViolation = 1008
	CloseTooBig          = 1009
	CloseInternalError   = 1011
	CloseSlowConsumer    = 4008
	CloseResync          = 4009
	CloseBadMessage      = 4400
	CloseUnauthorized    = 4401
	CloseForbidden       = 4403
)

// Sentinel errors callers branch on.
var (
	// ErrClosed is returned by operations on a closed connection or hub.
	ErrClosed = errors.New("realtime: connection closed")
	// ErrSlowConsumer is returned by Send when the queue passed its cap;
	// the connection is being closed with CloseSlowConsumer.
	ErrSlowConsumer = errors.New("realtime: slow consumer")
	// ErrTooLarge is returned by Send for a single message larger than the
	// whole queue cap; the connection stays open.
	ErrTooLarge = errors.New("realtime: message larger than the send queue")
	// ErrOriginRejected is returned by Upgrade when the Origin header is not
	// allowed; a 403 has been written.
	ErrOriginRejected = errors.New("realtime: origin not allowed")
	// ErrShuttingDown is returned when the hub no longer takes connections.
	ErrShuttingDown = errors.New("realtime: hub shutting down")
	// ErrBusy is returned by Admit when the gateway takes no more
	// connections for now.
	ErrBusy = errors.New("realtime: busy, try again")
	// ErrBadTopic is returned for an empty, oversized or non-printable topic.
	ErrBadTopic = errors.New("realtime: invalid topic")
)

// CloseError is a websocket close code with its reason. A Transport returns
// it for frames it refuses, and an OnMessage handler returns it to choose the
// code the connection is closed with.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("realtime: close %d: %s", e.Code, e.Reason)
}
