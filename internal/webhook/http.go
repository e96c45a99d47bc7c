package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// Register adds the admin API under g (mounted at /api/v1), each route
// behind admin, which must let only admins through:
//
//	GET    /webhooks                          endpoints
//	POST   /webhooks                          create; the answer holds the secret, shown once
//	GET    /webhooks/:id                      one endpoint
//	PATCH  /webhooks/:id                      change url, events, active, allow_private, description
//	DELETE /webhooks/:id                      remove
//	POST   /webhooks/:id/rotate-secret        new secret; the old one signs too for overlap_seconds (default 86400)
//	POST   /webhooks/:id/ping                 queue a test event
//	GET    /webhooks/:id/deliveries?limit=    recent outcomes, newest first
//	POST   /webhooks/:id/deliveries/:event/replay   send one event again
//	POST   /webhooks/:id/replay               {"since": RFC 3339} send every event since again
func (s *Service) Register(g *echo.Group, admin echo.MiddlewareFunc) {
	g.GET("/webhooks", s.handleList, admin)
	g.POST("/webhooks", s.handleCreate, admin)
	g.GET("/webhooks/:id", s.handleGet, admin)
	g.PATCH("/webhooks/:id", s.handleUpdate, admin)
	g.DELETE("/webhooks/:id", s.handleDelete, admin)
	g.POST("/webhooks/:id/rotate-secret", s.handleRotate, admin)
	g.POST("/webhooks/:id/ping", s.handlePing, admin)
	g.GET("/webhooks/:id/deliveries", s.handleDeliveries, admin)
	g.POST("/webhooks/:id/deliveries/:event/replay", s.handleReplay, admin)
	g.POST("/webhooks/:id/replay", s.handleReplaySince, admin)
}

// maxBody bounds an admin request body.
const maxBody = 16 << 10

type apiError struct {
	Error string `json:"error"`
}

func (s *Service) fail(c echo.Context, err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, ErrNotFound):
		return c.JSON(http.StatusNotFound, apiError{"not found"})
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrInvalidURL), errors.Is(err, ErrForbiddenAddress):
		return c.JSON(http.StatusBadRequest, apiError{err.Error()})
	case errors.Is(err, ErrAlreadyQueued):
		return c.JSON(http.StatusConflict, apiError{err.Error()})
	case errors.As(err, &mbe):
		return c.JSON(http.StatusRequestEntityTooLarge, apiError{"request too large"})
	case errors.As(err, &se):
		return c.JSON(http.StatusBadRequest, apiError{"body is not valid JSON"})
	case errors.As(err, &te):
		return c.JSON(http.StatusBadRequest, apiError{"wrong type for field " + te.Field})
	case errors.Is(err, errBody):
		return c.JSON(http.StatusBadRequest, apiError{err.Error()})
	}
	s.log.ErrorContext(c.Request().Context(), "webhook: admin request failed", "path", c.Path(), "err", err)
	return c.JSON(http.StatusInternalServerError, apiError{"internal error"})
}

var errBody = errors.New("bad body")

func bind(c echo.Context, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), c.Request().Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		if errors.As(err, &mbe) || errors.As(err, &se) || errors.As(err, &te) {
			return err
		}
		return errors.Join(errBody, err)
	}
	return nil
}

// created is an endpoint with its secret, answered once.
type created struct {
	Endpoint
	Secret string `json:"secret"`
}

func (s *Service) handleList(c echo.Context) error {
	eps, err := s.Endpoints(c.Request().Context())
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"endpoints": eps, "event_types": Types})
}

func (s *Service) handleCreate(c echo.Context) error {
	var in EndpointInput
	if err := bind(c, &in); err != nil {
		return s.fail(c, err)
	}
	ep, secret, err := s.Create(c.Request().Context(), in)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusCreated, created{ep, secret})
}

func (s *Service) handleGet(c echo.Context) error {
	ep, err := s.Endpoint(c.Request().Context(), c.Param("id"))
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, ep)
}

func (s *Service) handleUpdate(c echo.Context) error {
	var in EndpointInput
	if err := bind(c, &in); err != nil {
		return s.fail(c, err)
	}
	ep, err := s.Update(c.Request().Context(), c.Param("id"), in)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, ep)
}

func (s *Service) handleDelete(c echo.Context) error {
	if err := s.Delete(c.Request().Context(), c.Param("id")); err != nil {
		return s.fail(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Service) handleRotate(c echo.Context) error {
	var in struct {
		OverlapSeconds *int `json:"overlap_seconds"`
	}
	if c.Request().ContentLength != 0 {
		if err := bind(c, &in); err != nil {
			return s.fail(c, err)
		}
	}
	overlap := 24 * time.Hour
	if in.OverlapSeconds != nil {
		if *in.OverlapSeconds < 0 || *in.OverlapSeconds > 7*86400 {
			return c.JSON(http.StatusBadRequest, apiError{"overlap_seconds must be between 0 and 604800"})
		}
		overlap = time.Duration(*in.OverlapSeconds) * time.Second
	}
	ep, secret, err := s.RotateSecret(c.Request().Context(), c.Param("id"), overlap)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, created{ep, secret})
}

func (s *Service) handlePing(c echo.Context) error {
	id, err := s.Ping(c.Request().Context(), c.Param("id"))
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"event_id": id})
}

func (s *Service) handleDeliveries(c echo.Context) error {
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > logCap {
			return c.JSON(http.StatusBadRequest, apiError{"limit must be between 1 and 1000"})
		}
		limit = n
	}
	ds, err := s.Deliveries(c.Request().Context(), c.Param("id"), limit)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": ds})
}

func (s *Service) handleReplay(c echo.Context) error {
	if err := s.Replay(c.Request().Context(), c.Param("id"), c.Param("event")); err != nil {
		return s.fail(c, err)
	}
	return c.NoContent(http.StatusAccepted)
}

func (s *Service) handleReplaySince(c echo.Context) error {
	var in struct {
		Since time.Time `json:"since"`
	}
	if err := bind(c, &in); err != nil {
		return s.fail(c, err)
	}
	if in.Since.IsZero() {
		return c.JSON(http.StatusBadRequest, apiError{"since (RFC 3339 time) is required"})
	}
	n, err := s.ReplaySince(c.Request().Context(), c.Param("id"), in.Since)
	if err != nil {
		return s.fail(c, err)
	}
	return c.JSON(http.StatusAccepted, map[string]int{"queued": n})
}
