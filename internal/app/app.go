// Package app wires one Switchboard gateway together from a Config: the
// store, routing, conversations, channels, console and HTTP server. It is
// the process logic behind cmd/switchboard, kept in a package so tests can
// start a whole gateway in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/httpserver"
	"github.com/switchboard/switchboard/internal/store"
)

// App is one running gateway.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	out      io.Writer // where the generated admin password is shown once
	store    *store.Store
	http     *httpserver.Server
	listener net.Listener

	// background components run until the serve context ends.
	background []component
}

// component is a named background part of the gateway: the routing
// engine's recoverers, the outbox, the routing-event reactor, the stats
// folder, the board pusher, each channel's own work. Run returns when ctx
// ends.
type component interface {
	Run(ctx context.Context) error
}

// New builds the gateway and binds its listener, so Addr is known before
// Run; nothing is served until Run.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) (*App, error) {
	return newApp(ctx, cfg, log, out, channelList)
}

// newApp builds the gateway with the given channel list (tests add one).
func newApp(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer, channels []channelBuilder) (*App, error) {
	a := &App{cfg: cfg, log: log, out: out}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	st, err := store.Open(store.Options{URL: cfg.RedisURL, Logger: log, Registerer: reg})
	if err != nil {
		return nil, err
	}
	a.store = st

	srv, err := httpserver.New(httpserver.Params{Logger: log, Registry: reg, Ready: st.Ping, TrustProxy: cfg.TrustProxy, PublicURL: cfg.BaseURL()})
	if err != nil {
		st.Close()
		return nil, err
	}
	a.http = srv

	if err := a.wire(ctx, reg, channels); err != nil {
		st.Close()
		return nil, err
	}

	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("app: listen on %s: %w", cfg.Listen, err)
	}
	a.listener = l
	if cfg.PprofListen != "" {
		dl, err := net.Listen("tcp", cfg.PprofListen)
		if err != nil {
			st.Close()
			_ = l.Close()
			return nil, fmt.Errorf("app: pprof listen on %s: %w", cfg.PprofListen, err)
		}
		log.Info("serving /debug/pprof on a separate listener", "addr", dl.Addr().String())
		a.background = append(a.background, httpserver.Debug{Listener: dl, RedisCalls: st.CallSites})
	}
	return a, nil
}

// Addr is the address the gateway listens on.
func (a *App) Addr() string { return a.listener.Addr().String() }

// Run serves until ctx ends, then shuts down gracefully and closes the
// store. Background components stop with the context; one that fails
// stops the gateway too, since a gateway without its offer recovery or its
// event projector would serve consoles that never ring.
func (a *App) Run(ctx context.Context) error {
	defer a.store.Close()
	ctx, failed := context.WithCancelCause(ctx)
	defer failed(nil)
	bgCtx, stopBackground := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range a.background {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(bgCtx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("background component failed; stopping the gateway", "component", fmt.Sprintf("%T", c), "err", err)
				failed(fmt.Errorf("app: background component: %w", err))
			}
		}()
	}
	a.log.Info("switchboard listening", "addr", a.Addr(), "public_url", a.cfg.BaseURL(),
		"console", a.cfg.BaseURL()+"/agent/", "embedded_store", a.store.Embedded)
	err := a.http.Serve(ctx, a.listener, a.cfg.ShutdownTimeout)
	// Background loops stop after the HTTP drain, so in-flight requests can
	// still reach them.
	stopBackground()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.cfg.ShutdownTimeout):
		a.log.Warn("background components did not stop in time")
	}
	if cause := context.Cause(ctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	return err
}
