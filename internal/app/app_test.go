package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/redistest"
)

// start runs a gateway in-process with the given environment and returns
// its base URL; it is shut down when the test ends.
func start(t *testing.T, env map[string]string) string {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if env["SWITCHBOARD_LISTEN"] == "" {
		env["SWITCHBOARD_LISTEN"] = "127.0.0.1:0"
	}
	if env["SWITCHBOARD_DATA_DIR"] == "" {
		env["SWITCHBOARD_DATA_DIR"] = t.TempDir()
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("gateway did not stop")
		}
	})
	return "http://" + a.Addr()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEmbeddedGatewayIsHealthyAndReady(t *testing.T) {
	base := start(t, nil)
	deadline := time.Now().Add(2 * time.Second)
	for _, path := range []string{"/healthz", "/readyz"} {
		for {
			code, _ := get(t, base+path)
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s answered %d after 2s", path, code)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "switchboard_http_requests_total") {
		t.Fatalf("metrics: %d\n%.500s", code, body)
	}
	if !strings.Contains(body, `route="/healthz"`) {
		t.Fatal("request metrics do not name the route")
	}
	code, body = get(t, base+"/no-such-page")
	if code != http.StatusNotFound || !strings.Contains(body, `"error"`) {
		t.Fatalf("unknown route: %d %s", code, body)
	}
}

func TestReadinessFollowsRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	base := start(t, map[string]string{"REDIS_URL": srv.URL()})
	waitFor := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, _ := get(t, base+"/readyz")
			if code == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz = %d, want %d", code, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor(http.StatusOK)
	srv.Stop()
	waitFor(http.StatusServiceUnavailable)
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("process must keep serving while Redis is away: healthz %d", code)
	}
	if err := srv.Restart(redistest.Options{}); err != nil {
		t.Fatal(err)
	}
	waitFor(http.StatusOK)
}
