package httpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Debug serves Go's profiles (/debug/pprof/…) on Listener. It is a
// listener of its own, never the gateway's public one, and off unless the
// operator names an address: profiles show internals and a CPU profile
// costs CPU while it runs.
type Debug struct {
	Listener net.Listener
	// RedisCalls, when set, serves /debug/redis/calls?seconds=N: the
	// gateway's Redis round trips by call site (store.CallSites).
	RedisCalls http.Handler
}

// Run serves the profiles until ctx ends.
func (d Debug) Run(ctx context.Context) error {
	l := d.Listener
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if d.RedisCalls != nil {
		mux.Handle("/debug/redis/calls", d.RedisCalls)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("httpserver: pprof listener: %w", err)
	}
	return nil
}
