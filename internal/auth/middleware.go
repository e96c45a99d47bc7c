package auth

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// principalContextKey is the echo context key of the Principal.
const principalContextKey = "auth.principal"

// Middleware authenticates every request by bearer token or session cookie
// and puts the Principal in the echo context (PrincipalFrom) and the
// request's context (FromContext). With roles given, the principal's role
// must rank at least as high as the lowest of them (admin passes every
// check). A state-changing request (POST, PUT, PATCH, DELETE) on a session
// must carry the session's X-CSRF-Token; bearer tokens are exempt, since a
// browser never attaches them on its own.
//
// Answers: 401 {"error": ...} without valid credentials, 403 for a role
// that is not enough or a CSRF failure, 503 (Retry-After: 1) when the
// credentials cannot be checked because the store is down: a client that
// signs out on 401 must not drop a valid session during an outage.
func (s *Service) Middleware(required ...Role) echo.MiddlewareFunc {
	var min Role
	for _, r := range required {
		if min == "" || r.rank() < min.rank() {
			min = r
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			p, err := s.Check(r)
			if err != nil {
				if errors.Is(err, ErrUnauthenticated) {
					c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="switchboard"`)
					return c.JSON(http.StatusUnauthorized, map[string]string{"error": "not authenticated"})
				}
				return unavailable(c, err)
			}
			if p.Via == ViaSession && stateChanging(r.Method) {
				if err := checkCSRF(r, p); err != nil {
					return c.JSON(http.StatusForbidden, map[string]string{"error": "missing or wrong CSRF token"})
				}
			}
			if min != "" && !p.Role.AtLeast(min) {
				return c.JSON(http.StatusForbidden, map[string]string{"error": "forbidden: needs role " + string(min)})
			}
			c.Set(principalContextKey, p)
			c.SetRequest(r.WithContext(WithPrincipal(r.Context(), p)))
			return next(c)
		}
	}
}

// PrincipalFrom returns the Principal that Middleware put in c.
func PrincipalFrom(c echo.Context) (Principal, bool) {
	p, ok := c.Get(principalContextKey).(Principal)
	return p, ok
}

// unavailable answers 503 for a check the store could not make. The cause
// goes to the server's request log as the error's internal part, never to
// the client.
func unavailable(c echo.Context, err error) error {
	c.Response().Header().Set(echo.HeaderRetryAfter, "1")
	return echo.NewHTTPError(http.StatusServiceUnavailable, "sign-in service unavailable, retry shortly").SetInternal(err)
}
