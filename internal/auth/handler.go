package auth

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// maxLoginBody caps a login request: an id and a password fit many times.
const maxLoginBody = 4 << 10

// Handler serves the login, logout and me endpoints.
type Handler struct {
	svc *Service
}

// NewHandler returns the HTTP handlers of s.
func NewHandler(s *Service) *Handler { return &Handler{svc: s} }

// Register adds to g (the /api/v1 group):
//
//	POST /login   {"id","password"} -> 200 {"principal","csrf_token"} and the session cookie;
//	              400 bad body, 401 wrong credentials, 429 with Retry-After,
//	              503 with Retry-After while the store is down
//	POST /logout  ends the session (CSRF token required) -> 204
//	GET  /me      -> 200 {"principal","csrf_token"}; 401 when not signed in,
//	              503 when the session cannot be checked (keep it, retry)
//	PATCH /me     {"display_name"} the name customers are told of the
//	              signed-in person ("" for the first word of the name;
//	              CSRF token required) -> 200 {"principal"}; 400 bad name,
//	              403 for an API token (not a person)
func (h *Handler) Register(g *echo.Group) {
	g.POST("/login", h.login)
	g.POST("/logout", h.logout, h.svc.Middleware())
	g.GET("/me", h.me, h.svc.Middleware())
	g.PATCH("/me", h.updateMe, h.svc.Middleware())
}

type loginRequest struct {
	ID       string `json:"id"`
	Password string `json:"password"`
}

type principalResponse struct {
	Principal Principal `json:"principal"`
	CSRFToken string    `json:"csrf_token,omitempty"`
}

func (h *Handler) login(c echo.Context) error {
	r := c.Request()
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	var req loginRequest
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), r.Body, maxLoginBody))
	if err := dec.Decode(&req); err != nil || req.ID == "" || req.Password == "" {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": `body must be JSON {"id": ..., "password": ...}`})
	}
	sess, err := h.svc.Login(r.Context(), req.ID, req.Password, h.svc.clientIP(r))
	var rl *RateLimitError
	switch {
	case errors.As(err, &rl):
		secs := int(math.Ceil(rl.RetryAfter.Seconds()))
		c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(max(secs, 1)))
		return c.JSON(http.StatusTooManyRequests, map[string]string{"error": "too many failed logins, try again later"})
	case errors.Is(err, ErrInvalidCredentials):
		return c.JSON(http.StatusUnauthorized, map[string]string{"error": "invalid account or password"})
	case err != nil:
		return unavailable(c, err)
	}
	// A session the browser still had is ended, so one browser holds one
	// live session.
	if ck, err := r.Cookie(h.svc.cfg.CookieName); err == nil && ck.Value != "" {
		if old, err := h.svc.sessionPrincipal(r.Context(), ck.Value); err == nil {
			_ = h.svc.Logout(r.Context(), old)
		}
	}
	c.SetCookie(h.svc.sessionCookie(r, sess.ID))
	return c.JSON(http.StatusOK, principalResponse{Principal: sess.Principal, CSRFToken: sess.CSRFToken})
}

func (h *Handler) logout(c echo.Context) error {
	p, _ := PrincipalFrom(c)
	if err := h.svc.Logout(c.Request().Context(), p); err != nil {
		return err
	}
	if p.Via == ViaSession {
		c.SetCookie(h.svc.sessionCookie(c.Request(), ""))
	}
	return c.NoContent(http.StatusNoContent)
}

type meChange struct {
	DisplayName *string `json:"display_name"`
}

func (h *Handler) updateMe(c echo.Context) error {
	p, _ := PrincipalFrom(c)
	if p.Via != ViaSession {
		return c.JSON(http.StatusForbidden, map[string]string{"error": "an API token is not a person; an admin sets display names with PATCH /api/v1/admin/agents/{id}"})
	}
	var req meChange
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, maxLoginBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.DisplayName == nil {
		return c.JSON(http.StatusBadRequest, map[string]string{"error": `body must be JSON {"display_name": "..."}`})
	}
	err := h.svc.SetDisplayName(c.Request().Context(), p.AccountID, *req.DisplayName)
	switch {
	case errors.Is(err, ErrBadInput):
		return c.JSON(http.StatusBadRequest, map[string]string{"error": strings.TrimPrefix(err.Error(), ErrBadInput.Error()+": "), "field": "display_name"})
	case err != nil:
		return unavailable(c, err)
	}
	acct, err := h.svc.Account(c.Request().Context(), p.AccountID)
	if err != nil {
		return unavailable(c, err)
	}
	p.DisplayName = acct.CustomerName()
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, principalResponse{Principal: p})
}

func (h *Handler) me(c echo.Context) error {
	p, _ := PrincipalFrom(c)
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusOK, principalResponse{Principal: p, CSRFToken: p.CSRFToken()})
}
