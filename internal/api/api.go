// Package api serves the REST API under /api/v1 that the agent console and
// integrations use: conversations and their transcripts, agent replies and
// internal notes, customers (profile, identities, merge, history) and stored
// attachments. It is a thin layer over the desk (internal/desk), which
// decides what the caller may see and do exactly as it does for the
// console; docs/api.md and docs/openapi.yaml describe it.
//
// Authentication is not decided here: every route runs behind the
// middleware given in Params.Auth, and the wiring must pass the real one
// (a nil Auth lets every request through, which is only for tests).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/httpserver"
)

// multipartSlack is what an upload may add to its file: boundaries and
// part headers.
const multipartSlack = 64 << 10

// Params build a Handler. Service and Desk are required.
type Params struct {
	// Service stores and serves attachments.
	Service *conversation.Service
	// Desk decides who may see and do what, and does it; every route goes
	// through it, so the API answers as the console does.
	Desk *desk.Desk
	// Auth runs before every route. Nil lets every request through: the
	// application wiring must pass the session/token middleware.
	Auth echo.MiddlewareFunc
	// Actor names the caller (the author of replies and notes, the closer).
	// Required.
	Actor func(c echo.Context) desk.Actor
	// MaxBodyBytes limits JSON bodies. Zero: 64 KiB. Uploads are limited by
	// the service's attachment limit instead.
	MaxBodyBytes int64
	// Logger receives server errors (answered 500). Nil: discard.
	Logger *slog.Logger
}

// Handler serves the API.
type Handler struct {
	svc     *conversation.Service
	desk    *desk.Desk
	auth    echo.MiddlewareFunc
	actor   func(echo.Context) desk.Actor
	maxBody int64
	log     *slog.Logger
}

// New builds a Handler.
func New(p Params) (*Handler, error) {
	if p.Service == nil || p.Desk == nil || p.Actor == nil {
		return nil, errors.New("api: Params.Service, Desk and Actor are required")
	}
	h := &Handler{svc: p.Service, desk: p.Desk, auth: p.Auth, actor: p.Actor, maxBody: p.MaxBodyBytes, log: p.Logger}
	if h.maxBody <= 0 {
		h.maxBody = 64 << 10
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// MaySee guards routes other packages serve beside the API (the email
// channel's mail view): nil when the signed-in caller of c may see
// conversation convID, else the error to answer with — the auth
// middleware's own answer, or 404 for a conversation the caller may not
// see, as the API's routes answer.
func (h *Handler) MaySee(c echo.Context, convID string) error {
	seen := error(echo.ErrUnauthorized) // stays when the middleware answered
	check := func(c echo.Context) error {
		_, err := h.desk.Conversation(c.Request().Context(), h.actor(c), convID)
		switch {
		case err == nil:
			seen = nil
		case errors.Is(err, desk.ErrNotFound), errors.Is(err, conversation.ErrNotFound):
			seen = echo.ErrNotFound
		default:
			seen = fmt.Errorf("api: may see conversation %s: %w", convID, err)
		}
		return nil
	}
	if h.auth != nil {
		check = h.auth(check)
	}
	if err := check(c); err != nil {
		return err
	}
	return seen
}

// Register adds the routes to g, which the caller mounts at /api/v1. The
// auth middleware is attached to each route rather than to g, so routes
// other packages add to the same group are not affected.
func (h *Handler) Register(g *echo.Group) {
	var mw []echo.MiddlewareFunc
	if h.auth != nil {
		mw = append(mw, h.auth)
	}
	g.GET("/conversations", h.listConversations, mw...)
	g.POST("/conversations", h.startConversation, mw...)
	g.GET("/conversations/:id", h.getConversation, mw...)
	g.GET("/conversations/:id/messages", h.listMessages, mw...)
	g.POST("/conversations/:id/messages", h.reply, mw...)
	g.POST("/conversations/:id/notes", h.note, mw...)
	g.POST("/conversations/:id/recovery-note", h.recoveryNote, mw...)
	g.POST("/conversations/:id/close", h.closeConversation, mw...)
	g.POST("/conversations/:id/transfer", h.transfer, mw...)
	// Uploads carry files up to the attachment limit (10 MiB by default),
	// plus room for the multipart framing: far past the server's default
	// body cap, which this route replaces.
	g.POST("/conversations/:id/attachments", h.upload, append(mw, httpserver.BodyLimit(h.svc.MaxAttachmentBytes()+multipartSlack))...)
	g.GET("/messages/:id", h.getMessage, mw...)
	g.GET("/attachments/*", h.download, mw...)
	g.GET("/customers", h.findCustomer, mw...)
	g.GET("/customers/:id", h.getCustomer, mw...)
	g.PATCH("/customers/:id", h.updateCustomer, mw...)
	g.POST("/customers/:id/merge", h.merge, mw...)
	g.POST("/customers/:id/identities", h.link, mw...)
	g.GET("/customers/:id/conversations", h.history, mw...)
	h.registerPromises(g, mw)
}

// who is the caller as the desk knows it.
func (h *Handler) who(c echo.Context) desk.Actor { return h.actor(c) }

// errorBody is every error answer: a message, and the offending field for
// a 400.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// fail maps errors to statuses, the one place it is done for the REST API
// (agentui maps the same desk errors to ack codes). Only client errors
// carry a message; a 500 says nothing about internals.
func (h *Handler) fail(c echo.Context, err error) error {
	var fe *conversation.FieldError
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var te2 *conversation.TypeError
	switch {
	case errors.As(err, &fe):
		return c.JSON(http.StatusBadRequest, errorBody{Error: fe.Error(), Field: fe.Field})
	case errors.As(err, &mbe), errors.Is(err, conversation.ErrTooLarge):
		return c.JSON(http.StatusRequestEntityTooLarge, errorBody{Error: "request too large"})
	case errors.As(err, &te2):
		return c.JSON(http.StatusUnsupportedMediaType, errorBody{Error: te2.Reason})
	case errors.Is(err, desk.ErrNotFound), errors.Is(err, conversation.ErrNotFound):
		return c.JSON(http.StatusNotFound, errorBody{Error: "not found"})
	case errors.Is(err, desk.ErrForbidden):
		return c.JSON(http.StatusForbidden, errorBody{Error: "not allowed on this conversation now"})
	case errors.Is(err, desk.ErrClosed), errors.Is(err, conversation.ErrClosed):
		return c.JSON(http.StatusConflict, errorBody{Error: "conversation is closed"})
	case errors.Is(err, desk.ErrOfferGone):
		return c.JSON(http.StatusConflict, errorBody{Error: "the offer is no longer open"})
	case errors.Is(err, desk.ErrConflict):
		return c.JSON(http.StatusConflict, errorBody{Error: err.Error()})
	case errors.Is(err, desk.ErrInvalid):
		return c.JSON(http.StatusBadRequest, errorBody{Error: "the request was refused"})
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return c.JSON(http.StatusBadRequest, errorBody{Error: "body is not valid JSON"})
	case errors.As(err, &te):
		return c.JSON(http.StatusBadRequest, typeError(te))
	case errors.Is(err, errUnknownField), errors.Is(err, errTrailing):
		return c.JSON(http.StatusBadRequest, errorBody{Error: err.Error()})
	case errors.Is(err, context.Canceled):
		return c.NoContent(499)
	}
	h.log.ErrorContext(c.Request().Context(), "api: request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
	return c.JSON(http.StatusInternalServerError, errorBody{Error: "internal error"})
}

// typeError words a JSON value of the wrong type, naming the field and
// both types. A value with no field is the body itself (an array or a
// string where an object belongs).
func typeError(te *json.UnmarshalTypeError) errorBody {
	want := jsonKind(te.Type)
	if te.Field == "" {
		return errorBody{Error: fmt.Sprintf("body must be a JSON %s, not %s", want, te.Value)}
	}
	return errorBody{Error: fmt.Sprintf("wrong type for field %s: want %s, got %s", te.Field, want, te.Value), Field: te.Field}
}

// jsonKind names a Go type as a JSON client knows it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "object"
}

var (
	errUnknownField = errors.New("unknown field")
	errTrailing     = errors.New("body has data after the JSON value")
)

// bind decodes a JSON body of at most maxBody bytes into v. Unknown fields
// and trailing data are refused so a misspelt field does not silently do
// nothing.
func (h *Handler) bind(c echo.Context, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, h.maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			// An empty body is an empty object; required fields are checked
			// by the handlers, naming them.
			return nil
		}
		if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
			return fmt.Errorf("%w %s", errUnknownField, strings.TrimPrefix(msg, "json: unknown field "))
		}
		return err
	}
	if err := dec.Decode(&json.RawMessage{}); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errTrailing
	}
	return nil
}

// intParam reads an optional integer query parameter.
func intParam(c echo.Context, name string) (int64, error) {
	s := c.QueryParam(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, &conversation.FieldError{Field: name, Reason: "must be a non-negative integer"}
	}
	return n, nil
}
