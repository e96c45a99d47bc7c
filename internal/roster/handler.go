package roster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/channel"
)

// maxBody caps a request body: an agent's settings fit many times.
const maxBody = 16 << 10

// Handler serves /agents under /api/v1, for admins only.
type Handler struct {
	svc  *Service
	auth *auth.Service
	log  *slog.Logger
}

// NewHandler returns the HTTP handlers of s; a nil log discards.
func NewHandler(s *Service, a *auth.Service, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{svc: s, auth: a, log: log}
}

// Register adds to g (the /api/v1 group), each behind the session or token
// middleware with the admin role (401 without credentials, 403 for agents
// and supervisors):
//
//	GET   /agents                {"agents": [Agent], "queues": [...], "channels": [...]}
//	POST  /agents                add -> 201 {"agent", "password" (when generated)}
//	GET   /agents/:id            Agent
//	PATCH /agents/:id            change name, display_name, role, skills, queues, capacity, disabled -> Agent
//	POST  /agents/:id/password   {"password"} or {} to generate -> {"password" (when generated)}
func (h *Handler) Register(g *echo.Group) {
	mw := h.auth.Middleware(auth.RoleAdmin)
	g.GET("/agents", h.list, mw)
	g.POST("/agents", h.add, mw)
	g.GET("/agents/:id", h.get, mw)
	g.PATCH("/agents/:id", h.update, mw)
	g.POST("/agents/:id/password", h.password, mw)
}

type listResponse struct {
	Agents   []Agent        `json:"agents"`
	Queues   []string       `json:"queues"`
	Channels []channel.Name `json:"channels"`
}

func (h *Handler) list(c echo.Context) error {
	agents, err := h.svc.List(c.Request().Context())
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, listResponse{Agents: agents, Queues: h.svc.QueueNames(), Channels: channel.All})
}

func (h *Handler) get(c echo.Context) error {
	ag, err := h.svc.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, ag)
}

type addBody struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// DisplayName is the name customers are told; "" for the first word of Name.
	DisplayName string         `json:"display_name"`
	Role        auth.Role      `json:"role"`
	Skills      []string       `json:"skills"`
	Queues      []string       `json:"queues"`
	Capacity    map[string]int `json:"capacity"`
	Password    string         `json:"password"`
}

type addResponse struct {
	Agent    Agent  `json:"agent"`
	Password string `json:"password,omitempty"`
}

func (h *Handler) add(c echo.Context) error {
	var b addBody
	if err := bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	ag, generated, err := h.svc.Add(c.Request().Context(), NewAgent(b))
	if err != nil {
		return h.fail(c, err)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, addResponse{Agent: ag, Password: generated})
}

type updateBody struct {
	Name        *string        `json:"name"`
	DisplayName *string        `json:"display_name"`
	Role        *auth.Role     `json:"role"`
	Skills      *[]string      `json:"skills"`
	Queues      *[]string      `json:"queues"`
	Capacity    map[string]int `json:"capacity"`
	Disabled    *bool          `json:"disabled"`
}

func (h *Handler) update(c echo.Context) error {
	var b updateBody
	if err := bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	p, _ := auth.PrincipalFrom(c)
	ag, err := h.svc.Update(c.Request().Context(), p.AccountID, c.Param("id"), Change(b))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, ag)
}

type passwordBody struct {
	Password string `json:"password"`
}

func (h *Handler) password(c echo.Context) error {
	var b passwordBody
	if err := bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	generated, err := h.svc.ResetPassword(c.Request().Context(), c.Param("id"), b.Password)
	if err != nil {
		return h.fail(c, err)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	if generated == "" {
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(http.StatusOK, passwordBody{Password: generated})
}

var errBody = errors.New("body must be one JSON object with known fields")

// bind decodes a JSON object, refusing unknown fields (a misspelt field
// must not silently do nothing) and trailing data. An empty body is {}.
func bind(c echo.Context, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fmt.Errorf("%w: %s", errBody, strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return errBody
	}
	return nil
}

type errorBody struct {
	Error string `json:"error"`
}

// fail answers an error. Client errors carry the roster's message, which
// never holds a password; anything else is a 500 with nothing inside.
func (h *Handler) fail(c echo.Context, err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, errBody):
		return c.JSON(http.StatusBadRequest, errorBody{Error: err.Error()})
	case errors.Is(err, ErrNotFound):
		return c.JSON(http.StatusNotFound, errorBody{Error: "not found"})
	case errors.Is(err, ErrExists):
		return c.JSON(http.StatusConflict, errorBody{Error: "an account with this id exists"})
	case errors.Is(err, ErrSelf):
		return c.JSON(http.StatusConflict, errorBody{Error: err.Error()})
	case errors.As(err, &mbe):
		return c.JSON(http.StatusRequestEntityTooLarge, errorBody{Error: "request too large"})
	}
	h.log.ErrorContext(c.Request().Context(), "roster: request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
	return c.JSON(http.StatusInternalServerError, errorBody{Error: "internal error"})
}
