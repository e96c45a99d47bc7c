package httpserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	s.Echo.POST("/echo", readBody)
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

// readBody reads the whole body, as a handler that binds one does.
func readBody(c echo.Context) error {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err
	}
	return c.String(http.StatusOK, strconv.Itoa(len(b)))
}

// Issue 11 item 4: a route names its own body limit, above or below the
// server's default, and a body past it is answered 413.
func TestBodyLimitPerRoute(t *testing.T) {
	t.Parallel()
	s, err := New(Params{})
	if err != nil {
		t.Fatal(err)
	}
	s.Echo.POST("/default", readBody)
	s.Echo.POST("/upload", readBody, BodyLimit(10<<20))
	s.Echo.POST("/login", readBody, BodyLimit(4<<10))
	srv := httptest.NewServer(s.Echo)
	t.Cleanup(srv.Close)
	cases := []struct {
		desc, path string
		size       int
		chunked    bool
		code       int
	}{
		{"default route within 1 MiB", "/default", DefaultBodyLimit, false, http.StatusOK},
		{"default route past 1 MiB", "/default", DefaultBodyLimit + 1, false, http.StatusRequestEntityTooLarge},
		{"default route past 1 MiB, chunked", "/default", 2 << 20, true, http.StatusRequestEntityTooLarge},
		{"upload route raises the limit", "/upload", 3 << 20, false, http.StatusOK},
		{"upload route raises it, chunked", "/upload", 10 << 20, true, http.StatusOK},
		{"upload route past its own limit", "/upload", 10<<20 + 1, false, http.StatusRequestEntityTooLarge},
		{"upload route past its own limit, chunked", "/upload", 11 << 20, true, http.StatusRequestEntityTooLarge},
		{"login route lowers it", "/login", 5 << 10, false, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		var body io.Reader = bytes.NewReader(bytes.Repeat([]byte("x"), tc.size))
		if tc.chunked {
			body = io.MultiReader(body) // no length known: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+tc.path, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.desc, resp.StatusCode, b, tc.code)
		}
		if tc.code == http.StatusOK && string(b) != strconv.Itoa(tc.size) {
			t.Errorf("%s: handler read %s bytes, want %d", tc.desc, b, tc.size)
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
	down = errors.New("dial tcp 10.1.2.3:6379: connect: connection refused")
	if get() != http.StatusServiceUnavailable || gauge() != 0 {
		t.Fatal("ready check failing, yet ready")
	}
	// Issue 11 item 8: the unauthenticated answer names no address.
	rec := httptest.NewRecorder()
	s.Echo.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if body := rec.Body.String(); body != `{"error":"redis unavailable","status":"not ready"}`+"\n" {
		t.Fatalf("/readyz while down: %q", body)
	}
}

// Issue 11 item 5: a gateway whose public URL is https sends HSTS; one on
// plain http does not, unless a trusted proxy says the request was https.
func TestHSTS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc, publicURL string
		trustProxy      bool
		proto           string
		want            bool
	}{
		{"https public URL", "https://support.example.test", false, "", true},
		{"http public URL", "http://127.0.0.1:8080", false, "", false},
		{"trusted proxy says https", "", true, "https", true},
		{"untrusted header ignored", "", false, "https", false},
	}
	for _, tc := range cases {
		s, err := New(Params{PublicURL: tc.publicURL, TrustProxy: tc.trustProxy})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		if tc.proto != "" {
			req.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		rec := httptest.NewRecorder()
		s.Echo.ServeHTTP(rec, req)
		if got := rec.Header().Get("Strict-Transport-Security"); (got != "") != tc.want {
			t.Errorf("%s: Strict-Transport-Security %q, want set %v", tc.desc, got, tc.want)
		}
	}
}
