package agentui_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/agentui/internal/fakebackend"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/realtime"
	"github.com/switchboard/switchboard/internal/redistest"
)

// TestFramesCrossGateways: the agent's console is connected to gateway B
// while the core, on gateway A, publishes the offer and the customer's
// messages. One real redis-server carries them.
func TestFramesCrossGateways(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	newHub := func() *realtime.Hub {
		h, err := realtime.New(realtime.Config{Redis: rs.NewClient(t), Workspace: "xgw"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = h.Shutdown(ctx)
		})
		return h
	}
	hubA, hubB := newHub(), newHub()
	f := fakebackend.New(hubA) // the core publishes on gateway A
	h, err := agentui.New(agentui.Config{Backend: f, Hub: hubB, Authenticate: f.Authenticate})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	h.Register(e)
	srv := httptest.NewServer(e) // gateway B serves the console
	t.Cleanup(srv.Close)

	ana := dialAs(t, srv, f, "ana")
	ack, _ := ana.request(map[string]any{"type": "state", "state": "available"})
	mustOK(t, ack)
	conv := f.Inbound("voice", "Omar Haddad", "call me back", "ana")
	offer, _ := ana.until(func(fr frame) bool { return fr.str("type") == agentui.FrameOffer })
	if offer["offer"].(map[string]any)["conv"] != conv {
		t.Fatalf("offer = %v", offer)
	}
	ack, _ = ana.request(map[string]any{"type": "accept", "conv": conv})
	mustOK(t, ack)
	f.Inbound("voice", "Omar Haddad", "any news?", "")
	m, _ := ana.until(func(fr frame) bool {
		return fr.str("type") == agentui.FrameMessage && fr["message"].(map[string]any)["kind"] == desk.KindCustomer
	})
	if m["message"].(map[string]any)["text"] != "any news?" {
		t.Fatalf("message = %v", m)
	}
}
