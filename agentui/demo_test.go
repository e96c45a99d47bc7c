package agentui_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/agentui/internal/fakebackend"
	"github.com/switchboard/switchboard/internal/demoserver"
	"github.com/switchboard/switchboard/internal/realtime"
)

// newFakeConsole builds an echo server with the console on a real hub (no
// Redis: one process) and the fake backend.
func newFakeConsole(t testing.TB, fake func(*fakebackend.Fake)) (*echo.Echo, *fakebackend.Fake, *realtime.Hub) {
	t.Helper()
	hub, err := realtime.New(realtime.Config{})
	if err != nil {
		t.Fatalf("realtime.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
	})
	f := fakebackend.New(hub)
	if fake != nil {
		fake(f)
	}
	h, err := agentui.New(agentui.Config{Backend: f, Hub: hub, Authenticate: f.Authenticate})
	if err != nil {
		t.Fatalf("agentui.New: %v", err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	h.Register(e)
	f.Register(e)
	registerVoiceTokens(t, e, f)
	return e, f, hub
}

// TestServeFakeConsole is not a test but the server the browser tests in
// e2e/ drive, until they move to the real gateway. It runs only when
// AGENTUI_DEMO_ADDR is set (e.g. 127.0.0.1:0), prints "LISTENING <url>" and
// serves until SIGINT/SIGTERM or AGENTUI_DEMO_SECONDS pass (default 600).
// AGENTUI_DEMO_OFFER_SECONDS sets the offer timeout.
func TestServeFakeConsole(t *testing.T) {
	addr := os.Getenv("AGENTUI_DEMO_ADDR")
	if addr == "" {
		t.Skip("AGENTUI_DEMO_ADDR not set: this is the e2e demo server, not a test")
	}
	offer, _ := strconv.Atoi(os.Getenv("AGENTUI_DEMO_OFFER_SECONDS"))
	e, _, _ := newFakeConsole(t, func(f *fakebackend.Fake) {
		if offer > 0 {
			f.OfferTimeout = time.Duration(offer) * time.Second
		}
	})
	demoserver.Serve(t, addr, e, demoserver.Seconds("AGENTUI_DEMO_SECONDS"))
}
