package desk

import (
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/routing"
)

// Errors every transport tells apart. agentui maps them to ack codes and
// internal/api to HTTP statuses, each in one place.
var (
	// ErrNotFound: no such conversation, customer, queue or agent, or one
	// the actor may not see (denied objects are not found, so their
	// existence does not leak).
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the actor sees the conversation but may not do this to
	// it now (reply to an offer not yet accepted, link an address as an
	// agent).
	ErrForbidden = errors.New("forbidden")
	// ErrOfferGone: the offer lapsed, was declined or went to someone else.
	ErrOfferGone = errors.New("offer no longer open")
	// ErrClosed: the conversation is closed.
	ErrClosed = errors.New("conversation closed")
	// ErrInvalid: a state, disposition, queue or text the desk refuses.
	ErrInvalid = errors.New("invalid request")
	// ErrRefused: the request is well formed but the customer may not be
	// contacted now (they opted out; an automated send outside business
	// hours). The error's text says why, for the person who asked.
	ErrRefused = errors.New("refused")
	// ErrConflict: the request contradicts what happened already: a
	// promise kept or cancelled before, a conversation already waiting for
	// a promise, or a conversation started for a customer who already has
	// an open one on the channel (its id is in the error's text and a
	// *conversation.OpenError).
	ErrConflict = errors.New("conflict")
)

// mapErr turns errors of routing, the conversation service and auth into
// the desk's sentinels, keeping the original text. A *conversation.FieldError
// stays one (it still matches ErrInvalid) so an API can name the field.
func mapErr(err error) error {
	var fe *conversation.FieldError
	var pfe *promise.FieldError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrForbidden), errors.Is(err, ErrOfferGone),
		errors.Is(err, ErrClosed), errors.Is(err, ErrInvalid), errors.Is(err, ErrRefused), errors.Is(err, ErrConflict):
		return err
	case errors.Is(err, conversation.ErrOpenConversation):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case errors.Is(err, promise.ErrNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case errors.Is(err, promise.ErrResolved), errors.Is(err, promise.ErrParked):
		return fmt.Errorf("%w: %v", ErrConflict, err)
	case errors.As(err, &pfe):
		return fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: pfe.Field, Reason: pfe.Reason})
	case errors.As(err, &fe):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	case errors.Is(err, routing.ErrNotOffered), errors.Is(err, routing.ErrWrongState), errors.Is(err, routing.ErrNotAssigned):
		return fmt.Errorf("%w: %v", ErrOfferGone, err)
	case errors.Is(err, conversation.ErrNotFound), errors.Is(err, routing.ErrNotFound), errors.Is(err, auth.ErrNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case errors.Is(err, conversation.ErrClosed):
		return fmt.Errorf("%w: %v", ErrClosed, err)
	case errors.Is(err, conversation.ErrInvalid), errors.Is(err, routing.ErrInvalid),
		errors.Is(err, routing.ErrUnknownQueue), errors.Is(err, routing.ErrAgentUnavailable):
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return err
}
