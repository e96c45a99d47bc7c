package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/desk"
)

// registerPromises adds the promise and timeline routes.
func (h *Handler) registerPromises(g *echo.Group, mw []echo.MiddlewareFunc) {
	g.GET("/conversations/:id/promises", h.listPromises, mw...)
	g.POST("/conversations/:id/promises", h.makePromise, mw...)
	g.POST("/conversations/:id/promises/:pid/keep", h.keepPromise, mw...)
	g.POST("/conversations/:id/promises/:pid/cancel", h.cancelPromise, mw...)
	g.GET("/promises", h.myPromises, mw...)
	g.GET("/promises/board", h.promiseBoard, mw...)
	g.GET("/customers/:id/timeline", h.timeline, mw...)
}

type promiseBody struct {
	What             string    `json:"what"`
	Due              time.Time `json:"due"`
	Pending          bool      `json:"pending"`
	Message          string    `json:"message"`
	CustomerTimeZone string    `json:"customer_time_zone"`
}

func (h *Handler) makePromise(c echo.Context) error {
	var b promiseBody
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	if b.Due.IsZero() {
		return h.fail(c, &conversation.FieldError{Field: "due", Reason: "required, an RFC 3339 time"})
	}
	p, err := h.desk.MakePromise(c.Request().Context(), h.who(c), c.Param("id"), desk.PromiseRequest{
		What: b.What, Due: b.Due, Pending: b.Pending, Message: b.Message, CustomerTimeZone: b.CustomerTimeZone})
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusCreated, p)
}

func (h *Handler) listPromises(c echo.Context) error {
	ps, err := h.desk.ConversationPromises(c.Request().Context(), h.who(c), c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"promises": ps})
}

type keepBody struct {
	Via  string `json:"via"`
	Text string `json:"text"`
}

func (h *Handler) keepPromise(c echo.Context) error {
	var b keepBody
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	p, err := h.desk.KeepPromise(c.Request().Context(), h.who(c), c.Param("id"), c.Param("pid"), b.Via, b.Text)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, p)
}

func (h *Handler) cancelPromise(c echo.Context) error {
	p, err := h.desk.CancelPromise(c.Request().Context(), h.who(c), c.Param("id"), c.Param("pid"))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, p)
}

func (h *Handler) myPromises(c echo.Context) error {
	ps, err := h.desk.MyPromises(c.Request().Context(), h.who(c))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"promises": ps})
}

func (h *Handler) promiseBoard(c echo.Context) error {
	b, err := h.desk.PromiseBoard(c.Request().Context(), h.who(c))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, b)
}

func (h *Handler) timeline(c echo.Context) error {
	items, err := h.desk.Timeline(c.Request().Context(), h.who(c), c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"customer_id": c.Param("id"), "items": items})
}
