package store

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

func TestEmbeddedServesTheSameClient(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s, err := Open(Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if !s.Embedded {
		t.Fatal("no URL should mean the embedded store")
	}
	// The routing engine depends on Lua; the embedded store must run it.
	got, err := s.Client.Eval(ctx, "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])", []string{"k"}, "v").Text()
	if err != nil || got != "v" {
		t.Fatalf("eval on embedded store: %q %v", got, err)
	}
	if n := testutil.CollectAndCount(reg, "switchboard_redis_command_duration_seconds"); n == 0 {
		t.Fatal("no latency samples recorded")
	}
}

func TestRealRedisFromURL(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{})
	s, err := Open(Options{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return s.Ping(ctx)
	}
	if s.Embedded {
		t.Fatal("URL given, yet embedded")
	}
	if err := ping(); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := ping(); err == nil {
		t.Fatal("ping succeeded with Redis stopped")
	}
	if err := srv.Restart(redistest.Options{}); err != nil {
		t.Fatal(err)
	}
	// The client reconnects by itself once Redis is back (go-redis backs
	// off between failed dials, so allow it a while on a busy machine).
	deadline := time.Now().Add(15 * time.Second)
	for ping() != nil {
		if time.Now().After(deadline) {
			t.Fatal("client did not reconnect")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRealRedisOverAUnixSocket(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{UnixSocket: true})
	s, err := Open(Options{URL: srv.SocketURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := s.Client.Do(ctx, "CLIENT", "INFO").Text()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info, "laddr="+srv.Socket()) {
		t.Fatalf("not connected through the socket: %s", info)
	}
	if err := redis.NewScript(`return 1`).Run(ctx, NewBatcher(s.Client), nil).Err(); err != nil {
		t.Fatalf("a script over the socket: %v", err)
	}
}

func TestURLErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://user:s3cretpw@localhost:6379/notanumber",
		"redis://user:s3cretpw@localhost:6379/0?master_name=m&bogus_option=1",
		"redis://user:s3cretpw@localhost:6379/0?addr=localhost:6380&bogus_option=1",
	} {
		_, err := Open(Options{URL: u})
		if err == nil {
			t.Errorf("%s: want an error", strings.SplitN(u, "?", 2)[1:])
			continue
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("password leaked: %v", err)
		}
	}
}

func TestSentinelAndClusterURLsSelectTheirClients(t *testing.T) {
	t.Parallel()
	s, err := Open(Options{URL: "redis://localhost:26379/0?master_name=mymaster"})
	if err != nil {
		t.Fatal(err)
	}
	if got := clientKind(s); got != "failover" {
		t.Errorf("master_name: got %s client", got)
	}
	s.Close()
	s, err = Open(Options{URL: "redis://localhost:7000?addr=localhost:7001"})
	if err != nil {
		t.Fatal(err)
	}
	if got := clientKind(s); got != "cluster" {
		t.Errorf("addr: got %s client", got)
	}
	s.Close()
}

func clientKind(s *Store) string {
	switch c := s.Client.(type) {
	case *redis.ClusterClient:
		return "cluster"
	case *redis.Client:
		// go-redis marks a Sentinel-managed client by this address.
		if c.Options().Addr == "FailoverClient" {
			return "failover"
		}
		return "single"
	}
	return "unknown"
}

// Issue 11 item 8: go-redis's own messages reach the gateway's structured
// log instead of plain text on stderr. Not parallel: go-redis keeps one
// logger per process.
func TestRedisClientMessagesAreStructured(t *testing.T) {
	var buf syncBuffer
	s, err := Open(Options{URL: "redis://127.0.0.1:1/0?master_name=mymaster", Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// go-redis names the sentinel only after its dial retries; on a busy
	// machine that takes longer than one ping's patience.
	var out string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = s.Client.Ping(ctx).Err()
		cancel()
		if out = buf.String(); strings.Contains(out, "sentinel") {
			break
		}
	}
	if !strings.Contains(out, `"msg":"redis client"`) || !strings.Contains(out, "sentinel") {
		t.Fatalf("no structured go-redis message in the log:\n%s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("log line is not JSON: %q", line)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for go-redis's background goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
