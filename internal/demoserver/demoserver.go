// Package demoserver serves a handler for the browser tests in e2e/: a Go
// test that builds a page on fake backends hands it here, and the e2e
// harness reads the "LISTENING <url>" line to find it.
package demoserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Seconds reads how long to serve from the environment variable env;
// unset or invalid means 600.
func Seconds(env string) int {
	n, err := strconv.Atoi(os.Getenv(env))
	if err != nil || n <= 0 {
		return 600
	}
	return n
}

// Serve listens on addr, prints "LISTENING http://<addr>" on standard
// output and serves h until SIGINT/SIGTERM or until seconds pass.
func Serve(t testing.TB, addr string, h http.Handler, seconds int) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	fmt.Printf("LISTENING http://%s\n", l.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(time.Duration(seconds) * time.Second):
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
}
