package httpserver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

func TestErrorsAreJSONAndInternalsStayHidden(t *testing.T) {
	t.Parallel()
	s, err := New(Params{Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	s.Echo.POST("/echo", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	s.Echo.GET("/boom", func(echo.Context) error { return errors.New("db password is hunter2") })
	s.Echo.GET("/teapot", func(echo.Context) error { return echo.NewHTTPError(http.StatusTeapot, "short and stout") })
	cases := []struct {
		desc, method, path, body string
		code                     int
		want                     string
	}{
		{"body over the default limit", http.MethodPost, "/echo", strings.Repeat("x", 2<<20), http.StatusRequestEntityTooLarge, `"error"`},
		{"internal error hides its cause", http.MethodGet, "/boom", "", http.StatusInternalServerError, `{"error":"internal error"}`},
		{"http error keeps its message", http.MethodGet, "/teapot", "", http.StatusTeapot, `{"error":"short and stout"}`},
		{"unknown route", http.MethodGet, "/nope", "", http.StatusNotFound, `"error"`},
	}
	for _, tc := range cases {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, req)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s", tc.desc, rec.Code, rec.Body.String())
		}
		if strings.Contains(rec.Body.String(), "hunter2") {
			t.Errorf("%s: internal error leaked", tc.desc)
		}
	}
}

func TestReadyzFollowsTheCheck(t *testing.T) {
	t.Parallel()
	var down error
	reg := prometheus.NewRegistry()
	s, err := New(Params{Ready: func(context.Context) error { return down }, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	gauge := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "switchboard_ready" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no switchboard_ready")
		return 0
	}
	get := func() int {
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	if get() != http.StatusOK || gauge() != 1 {
		t.Fatal("ready check passing, yet not ready")
	}
	down = errors.New("redis: connection refused")
	if get() != http.StatusServiceUnavailable || gauge() != 0 {
		t.Fatal("ready check failing, yet ready")
	}
}
