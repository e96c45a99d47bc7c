package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/desk"
)

// startConversation starts a conversation to a customer (proactive
// outbound): 201 with the conversation, assigned to its agent at once.
// The desk decides who may and whether the customer may be contacted: an
// opted-out number or an automated send outside business hours is 422
// with the reason, an open conversation with the customer on the channel
// is 409 naming it.
func (h *Handler) startConversation(c echo.Context) error {
	var req desk.StartRequest
	if err := h.bind(c, &req); err != nil {
		return h.fail(c, err)
	}
	conv, err := h.desk.Start(c.Request().Context(), h.who(c), req)
	var oe *conversation.OpenError
	switch {
	case errors.Is(err, desk.ErrRefused):
		return c.JSON(http.StatusUnprocessableEntity, errorBody{Error: refusal(err)})
	case errors.As(err, &oe):
		return c.JSON(http.StatusConflict, openBody{Error: "the customer already has an open conversation on this channel", ConversationID: oe.ConversationID})
	case errors.Is(err, desk.ErrForbidden):
		return c.JSON(http.StatusForbidden, errorBody{Error: refusal(err)})
	case err != nil:
		return h.fail(c, err)
	}
	return c.JSON(http.StatusCreated, conv)
}

// openBody is the 409 of a start: the conversation to continue instead.
type openBody struct {
	Error          string `json:"error"`
	ConversationID string `json:"conversation_id"`
}

// refusal is the desk's reason after its sentinel: "+46… opted out of
// text messages…", for the person who asked.
func refusal(err error) string {
	msg := err.Error()
	for _, s := range []error{desk.ErrRefused, desk.ErrForbidden} {
		if _, after, ok := strings.Cut(msg, s.Error()+": "); ok {
			return after
		}
	}
	return msg
}
