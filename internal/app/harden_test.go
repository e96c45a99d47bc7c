package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/redistest"
)

// Issue 11 item 5: behind a TLS-terminating proxy that says nothing, a
// gateway whose public URL is https still marks the session cookie Secure
// and sends HSTS.
func TestHTTPSPublicURLSecuresTheSession(t *testing.T) {
	base := start(t, map[string]string{
		"SWITCHBOARD_PUBLIC_URL":     "https://support.example.test",
		"SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1",
	})
	resp, err := http.Post(base+"/api/v1/login", "application/json",
		strings.NewReader(`{"id":"admin","password":"admin-password-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly {
		t.Fatalf("session cookie %q: want Secure and HttpOnly", resp.Header.Values("Set-Cookie"))
	}
	if h := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") {
		t.Fatalf("Strict-Transport-Security %q", h)
	}
}

// Issue 11 item 7: while Redis is down a signed-in console is told 503 on
// its websocket and on /api/v1/me, never 401, so it keeps its session
// (the console's socket retries on anything but 401); /readyz names no
// address (item 8).
func TestRedisDownKeepsTheSession(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	base := start(t, map[string]string{"REDIS_URL": srv.URL(), "SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1"})
	cookies := login(t, base, "admin", "admin-password-1")
	srv.Stop()
	hdr := http.Header{"Origin": {base}}
	for _, ck := range cookies {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/agent/ws", hdr)
	if err == nil {
		ws.Close()
		t.Fatal("console websocket upgraded with Redis down")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("console websocket with Redis down: %v, want 503", err)
	}
	if code := getStatus(t, base+"/api/v1/me", cookies); code != http.StatusServiceUnavailable {
		t.Fatalf("/api/v1/me with Redis down: %d, want 503", code)
	}
	code, body := get(t, base+"/readyz")
	if code != http.StatusServiceUnavailable || strings.Contains(body, "127.0.0.1") || !strings.Contains(body, "redis unavailable") {
		t.Fatalf("/readyz with Redis down: %d %s", code, body)
	}
}

// Issue 11 item 8: with no terminal to show it on, a generated admin
// password goes to a 0600 file whose path is logged; neither the log nor
// the output carries the password.
func TestGeneratedAdminPasswordNotInLogs(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SWITCHBOARD_LISTEN": "127.0.0.1:0", "SWITCHBOARD_DATA_DIR": dir}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The gateway's goroutines log while the test reads: a locked buffer.
	var logs lockedBuffer
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	a, err := New(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)), &out)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	path := filepath.Join(dir, "admin-password")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no password file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("password file mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	pw := strings.TrimSpace(string(b))
	if len(pw) < 20 {
		t.Fatalf("password file holds %q", pw)
	}
	if strings.Contains(logs.String(), pw) || strings.Contains(out.String(), pw) {
		t.Fatal("the generated password reached the log or the output stream")
	}
	if !strings.Contains(logs.String(), path) {
		t.Fatalf("the log does not name the password file:\n%s", logs.String())
	}
	if out.Len() != 0 {
		t.Fatalf("non-JSON text on the output stream: %q", out.String())
	}
	login(t, "http://"+a.Addr(), "admin", pw)
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
