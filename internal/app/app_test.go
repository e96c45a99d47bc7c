package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/redistest"
)

// start runs a gateway in-process with the given environment and returns
// its base URL; it is shut down when the test ends.
func start(t *testing.T, env map[string]string) string {
	t.Helper()
	base, _ := startStoppable(t, env)
	return base
}

// startStoppable is start with a stop function that shuts the gateway down
// at once and returns what Run returned.
func startStoppable(t *testing.T, env map[string]string) (string, func() error) {
	t.Helper()
	return startChannels(t, env, channelList)
}

// startChannels is startStoppable with the given channel list.
func startChannels(t *testing.T, env map[string]string, channels []channelBuilder) (string, func() error) {
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
	a, err := newApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard, channels)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(15 * time.Second):
				runErr = errors.New("gateway did not stop within 15s")
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return "http://" + a.Addr(), stop
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
		deadline := time.Now().Add(15 * time.Second)
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

func TestShutdownClosesWebsocketsWithGoingAway(t *testing.T) {
	base, stop := startStoppable(t, map[string]string{"SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1"})
	console := dialConsole(t, base, login(t, base, "admin", "admin-password-1"))
	began := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	_ = console.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := console.ws.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("socket ended with %v; want close 1001 going away", err)
		}
		break
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("shutdown took %s, over its 10s bound", d)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still accepting requests after shutdown")
	}
}
