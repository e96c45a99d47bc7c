package app

import (
	"net/http"
	"strings"
	"testing"
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
