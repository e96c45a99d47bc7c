package fakebackend

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/internal/desk"
)

// CookieName is the fake session cookie.
const CookieName = "sb_session"

// Authenticate is the agentui.Config.Authenticate of the fake: the session
// cookie set by the fake login.
func (f *Fake) Authenticate(r *http.Request) (desk.Actor, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return desk.Actor{}, fmt.Errorf("%w: fake: no session", agentui.ErrUnauthenticated)
	}
	p, _, ok := f.Session(ck.Value)
	if !ok {
		return desk.Actor{}, fmt.Errorf("%w: fake: unknown session", agentui.ErrUnauthenticated)
	}
	return p, nil
}

type loginBody struct {
	ID       string `json:"id"`
	Password string `json:"password"`
}

// meBody is the shape internal/auth answers login and me with.
type meBody struct {
	Principal desk.Actor `json:"principal"`
	CSRF      string     `json:"csrf_token"`
}

// Register adds the login endpoints (the shape internal/auth serves) and
// the control API through which tests play customers:
//
//	POST /_fake/inbound {"channel","customer","text","agent"} -> {"conv"}
//	POST /_fake/typing  {"conv","on"}
//	POST /_fake/leave   {"conv"}
//	GET  /_fake/conv/:id -> {"state","agent","disposition","messages"}
func (f *Fake) Register(e *echo.Echo) {
	e.POST("/api/v1/login", func(c echo.Context) error {
		var b loginBody
		if err := c.Bind(&b); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "bad body")
		}
		p, tok, csrf, ok := f.Login(b.ID, b.Password)
		if !ok {
			return echo.NewHTTPError(http.StatusUnauthorized, "wrong account or password")
		}
		c.SetCookie(&http.Cookie{Name: CookieName, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		return c.JSON(http.StatusOK, meBody{p, csrf})
	})
	e.GET("/api/v1/me", func(c echo.Context) error {
		ck, err := c.Cookie(CookieName)
		if err != nil {
			return echo.NewHTTPError(http.StatusUnauthorized, "login required")
		}
		p, csrf, ok := f.Session(ck.Value)
		if !ok {
			return echo.NewHTTPError(http.StatusUnauthorized, "login required")
		}
		return c.JSON(http.StatusOK, meBody{p, csrf})
	})
	e.POST("/api/v1/logout", func(c echo.Context) error {
		ck, err := c.Cookie(CookieName)
		if err != nil {
			return c.NoContent(http.StatusNoContent)
		}
		if _, csrf, ok := f.Session(ck.Value); ok && c.Request().Header.Get("X-CSRF-Token") != csrf {
			return echo.NewHTTPError(http.StatusForbidden, "missing or wrong CSRF token")
		}
		f.Logout(ck.Value)
		c.SetCookie(&http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1})
		return c.NoContent(http.StatusNoContent)
	})

	// The console's promise list and the customer timeline: the fake
	// makes no promises, and its customers have no history to list.
	e.GET("/api/v1/promises", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"promises": []any{}})
	})
	e.GET("/api/v1/customers/:id/timeline", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"customer_id": c.Param("id"), "items": []any{}})
	})

	e.POST("/_fake/inbound", func(c echo.Context) error {
		var b struct{ Channel, Customer, Text, Agent string }
		if err := c.Bind(&b); err != nil || b.Customer == "" || b.Text == "" {
			return echo.NewHTTPError(http.StatusBadRequest, "channel, customer and text")
		}
		if b.Channel == "" {
			b.Channel = "chat"
		}
		return c.JSON(http.StatusOK, map[string]string{"conv": f.Inbound(b.Channel, b.Customer, b.Text, b.Agent)})
	})
	e.POST("/_fake/typing", func(c echo.Context) error {
		var b struct {
			Conv string
			On   bool
		}
		if err := c.Bind(&b); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "conv, on")
		}
		if err := f.CustomerTyping(b.Conv, b.On); err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "no such conversation")
		}
		return c.NoContent(http.StatusNoContent)
	})
	e.POST("/_fake/leave", func(c echo.Context) error {
		var b struct{ Conv string }
		if err := c.Bind(&b); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "conv")
		}
		if err := f.CustomerLeaves(b.Conv); err != nil {
			return echo.NewHTTPError(http.StatusNotFound, "no such conversation")
		}
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/_fake/conv/:id", func(c echo.Context) error {
		state, agent, disp := f.ConvState(c.Param("id"))
		if state == "" {
			return echo.NewHTTPError(http.StatusNotFound, "no such conversation")
		}
		return c.JSON(http.StatusOK, map[string]any{"state": state, "agent": agent,
			"disposition": disp, "messages": f.Messages(c.Param("id"))})
	})
}
