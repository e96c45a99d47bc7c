package redistest

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/demoserver"
)

// TestServeCluster is not a test but the Redis Cluster the browser tests in
// e2e/ run gateways on (e2e/lib/gateway.mjs, redis: 'cluster'), started by
// the same StartCluster as the Go suites' cluster pass. It runs only when
// REDISTEST_SERVE_CLUSTER is set, prints "CLUSTER <REDIS_URL>" once every
// node agrees on the slots, and keeps the cluster up until SIGINT/SIGTERM or
// REDISTEST_SERVE_SECONDS pass (default 600).
func TestServeCluster(t *testing.T) {
	if os.Getenv("REDISTEST_SERVE_CLUSTER") == "" {
		t.Skip("REDISTEST_SERVE_CLUSTER not set: this is the e2e cluster, not a test")
	}
	c := StartCluster(t)
	fmt.Printf("CLUSTER %s\n", c.URL())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(time.Duration(demoserver.Seconds("REDISTEST_SERVE_SECONDS")) * time.Second):
	}
}
