// Package httpserver owns the gateway's one HTTP listener: the echo
// instance every handler registers on, the operational endpoints (/healthz,
// /readyz, /metrics), request metrics and logs, body limits, and the
// graceful shutdown that drains requests and closes websockets.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultBodyLimit caps request bodies for routes that set no tighter limit.
const DefaultBodyLimit = "1M"

// Params build a Server.
type Params struct {
	Logger *slog.Logger
	// Registry serves /metrics; request metrics are registered on it.
	Registry *prometheus.Registry
	// Ready reports whether the gateway can serve (Redis answers). Nil
	// means always ready.
	Ready func(ctx context.Context) error
	// TrustProxy makes echo take the client IP from X-Forwarded-For.
	TrustProxy bool
}

// Server is the HTTP server of one gateway.
type Server struct {
	Echo *echo.Echo

	log        *slog.Logger
	ready      func(ctx context.Context) error
	mu         sync.Mutex
	onShutdown []func(ctx context.Context)
	srv        *http.Server
}

// New builds the echo instance with the operational routes and middleware.
func New(p Params) (*Server, error) {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	if p.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	s := &Server{Echo: e, log: p.Logger, ready: p.Ready}
	e.HTTPErrorHandler = s.errorHandler

	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_http_requests_total",
		Help: "HTTP requests by route pattern, method and status code.",
	}, []string{"route", "method", "status"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_http_request_duration_seconds",
		Help:    "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route", "method"})
	// ready is /readyz as a gauge, evaluated at scrape time, for the
	// "gateway not ready" alert (a scrape that fails is "up", not this).
	ready := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "switchboard_ready",
		Help: "1 when the gateway is ready (what /readyz answers 200 for), else 0.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if s.check(ctx) != nil {
			return 0
		}
		return 1
	})
	if p.Registry != nil {
		for _, c := range []prometheus.Collector{reqs, dur, ready} {
			if err := p.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("httpserver: register metrics: %w", err)
			}
		}
	}

	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit(DefaultBodyLimit))
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				// Let the error handler write the status before we read it.
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			status := c.Response().Status
			reqs.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
			dur.WithLabelValues(route, c.Request().Method).Observe(time.Since(start).Seconds())
			level := slog.LevelDebug
			if status >= 500 {
				level = slog.LevelWarn
			}
			s.log.Log(c.Request().Context(), level, "http request",
				"method", c.Request().Method, "route", route, "status", status,
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "ip", c.RealIP())
			return nil
		}
	})

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "alive"})
	})
	e.GET("/readyz", s.readyz)
	if p.Registry != nil {
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(p.Registry, promhttp.HandlerOpts{})))
	}
	return s, nil
}

// check runs the readiness check, if any.
func (s *Server) check(ctx context.Context) error {
	if s.ready == nil {
		return nil
	}
	return s.ready(ctx)
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), time.Second)
	defer cancel()
	if err := s.check(ctx); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// errorHandler answers every error as JSON {"error": "..."}; internal
// errors are logged and not shown to the client.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(code)
		}
	} else {
		s.log.Error("handler failed", "route", c.Path(), "err", err)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	_ = c.JSON(code, map[string]string{"error": msg})
}

// OnShutdown registers f to run when shutdown starts, e.g. to close
// websockets with a going-away code (net/http does not track hijacked
// connections).
func (s *Server) OnShutdown(f func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onShutdown = append(s.onShutdown, f)
}

// Serve accepts on l until ctx ends, then drains within shutdownTimeout.
func (s *Server) Serve(ctx context.Context, l net.Listener, shutdownTimeout time.Duration) error {
	s.srv = &http.Server{
		Handler:           s.Echo,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("httpserver: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: draining requests and closing websockets", "bound", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	s.mu.Lock()
	hooks := append([]func(context.Context){}, s.onShutdown...)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range hooks {
		wg.Add(1)
		go func() { defer wg.Done(); f(sctx) }()
	}
	err := s.srv.Shutdown(sctx)
	wg.Wait()
	if err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("httpserver: drain: %w", err)
	}
	return nil
}
