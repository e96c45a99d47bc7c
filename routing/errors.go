package routing

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on. Engine methods wrap them with the
// operation and ids, so test with errors.Is.
var (
	// ErrNotFound: no such conversation or agent.
	ErrNotFound = errors.New("not found")
	// ErrNotOffered: the conversation is not offered to this agent, or the
	// offer's deadline passed (it is being requeued).
	ErrNotOffered = errors.New("not offered to this agent")
	// ErrNotAssigned: the conversation is not active with this agent.
	ErrNotAssigned = errors.New("not assigned to this agent")
	// ErrUnknownQueue: the queue is not configured.
	ErrUnknownQueue = errors.New("unknown queue")
	// ErrUnknownChannel: the channel is not one routing knows, or the queue
	// does not take it.
	ErrUnknownChannel = errors.New("unknown channel")
	// ErrExists: the conversation is already waiting, offered or active.
	ErrExists = errors.New("conversation already routed")
	// ErrAgentUnavailable: the named agent cannot take the conversation now
	// (not available, no free capacity on the channel, on a call).
	ErrAgentUnavailable = errors.New("agent cannot take it now")
	// ErrWrongState: the conversation's state does not allow the operation
	// (abandoning an active conversation, transferring a closed one).
	ErrWrongState = errors.New("conversation in the wrong state")
	// ErrInvalid: an argument is malformed; the message names it.
	ErrInvalid = errors.New("invalid argument")
	// ErrRetryLater, returned by a Consume handler, leaves the event
	// pending without a warning: the handler waits for something that
	// normally happens within moments (a record another gateway is
	// writing), and the group hands the event out again after ClaimAfter.
	ErrRetryLater = errors.New("retry later")
)

// Script result codes (see the header of lua/lib.lua).
const (
	codeOK            = 0
	codeConvNotFound  = 1
	codeNotOffered    = 2
	codeNotAssigned   = 3
	codeNoQueueConfig = 4
	codeExists        = 5
	codeAgentCannot   = 6
	codeWrongState    = 7
	codeAgentNotFound = 8
)

// codeErr maps a script's result code to its sentinel error.
func codeErr(code int64) error {
	switch code {
	case codeOK:
		return nil
	case codeConvNotFound:
		return fmt.Errorf("conversation %w", ErrNotFound)
	case codeNotOffered:
		return ErrNotOffered
	case codeNotAssigned:
		return ErrNotAssigned
	case codeNoQueueConfig:
		return ErrUnknownQueue
	case codeExists:
		return ErrExists
	case codeAgentCannot:
		return ErrAgentUnavailable
	case codeWrongState:
		return ErrWrongState
	case codeAgentNotFound:
		return fmt.Errorf("agent %w", ErrNotFound)
	}
	return fmt.Errorf("unexpected script result code %d", code)
}
