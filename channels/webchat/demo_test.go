package webchat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/demoserver"
	"github.com/switchboard/switchboard/internal/realtime"
	"github.com/switchboard/switchboard/internal/redistest"
)

// TestServeDemo is not a test but the server the browser test
// e2e/webchat.test.mjs drives until the gateway's wiring serves the widget.
// It runs only when WEBCHAT_DEMO_ADDR is set (e.g. 127.0.0.1:0): the channel
// on a real hub over a real redis-server, with the fake backend playing
// conversations and routing, and a control API under /_fake/ that plays the
// agent. It prints "LISTENING <url>" and serves until SIGINT/SIGTERM or
// WEBCHAT_DEMO_SECONDS pass (default 600).
func TestServeDemo(t *testing.T) {
	addr := os.Getenv("WEBCHAT_DEMO_ADDR")
	if addr == "" {
		t.Skip("WEBCHAT_DEMO_ADDR not set: this is the e2e demo server, not a test")
	}
	rs := redistest.Start(t, redistest.Options{})
	hub, err := realtime.New(realtime.Config{Redis: rs.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = hub.Shutdown(ctx)
	}()
	b := newFakeBackend()
	// Logs go to stderr, where the browser test reads what the gateway
	// says (a refused origin, once).
	srv, err := New(Config{SiteName: "Acme", TokenSecret: testSecret, MaxMessageLength: 500,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))},
		b, Deps{Hub: hub, Visitors: b, Places: b, Typing: b, Contacts: b, Availability: b})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	srv.Register(e)
	registerFake(e, srv, b)

	demoserver.Serve(t, addr, e, demoserver.Seconds("WEBCHAT_DEMO_SECONDS"))
}

// registerFake adds the control API the browser test plays the agent with.
func registerFake(e *echo.Echo, srv *Server, b *fakeBackend) {
	type req struct {
		Conv     string `json:"conv"`
		Agent    string `json:"agent"`
		Text     string `json:"text"`
		Typing   bool   `json:"typing"`
		Position int    `json:"position"`
		// NoEstimate makes routing have no honest wait estimate.
		NoEstimate bool `json:"no_estimate"`
		// Availability: "open", "away" (nobody online) or "closed"
		// (outside business hours, opening Opens).
		Availability string `json:"availability"`
		Opens        string `json:"opens"`
	}
	bind := func(c echo.Context) (req, error) {
		var r req
		err := json.NewDecoder(c.Request().Body).Decode(&r)
		if r.Agent == "" {
			r.Agent = "Ana"
		}
		return r, err
	}
	e.GET("/_fake/state", func(c echo.Context) error {
		b.mu.Lock()
		defer b.mu.Unlock()
		type conv struct {
			ID       string    `json:"id"`
			Visitor  string    `json:"visitor"`
			State    string    `json:"state"`
			Messages []Message `json:"messages"`
		}
		out := struct {
			Conversations []conv `json:"conversations"`
			Inbound       int    `json:"inbound"`
			Typing        []bool `json:"typing"`
		}{Inbound: len(b.inbound), Typing: b.typing}
		for i := 1; i <= b.seq; i++ {
			if cv := b.convs[fmt.Sprintf("cv_%d", i)]; cv != nil {
				out.Conversations = append(out.Conversations, conv{cv.id, cv.visitor, cv.state, cv.msgs})
			}
		}
		return c.JSON(http.StatusOK, out)
	})
	e.POST("/_fake/accept", func(c echo.Context) error {
		r, err := bind(c)
		if err != nil {
			return err
		}
		b.accept(r.Conv, r.Agent)
		return srv.AgentJoined(c.Request().Context(), r.Conv, r.Agent)
	})
	e.POST("/_fake/reply", func(c echo.Context) error {
		r, err := bind(c)
		if err != nil {
			return err
		}
		_, err = srv.Send(c.Request().Context(), b.agentReply(r.Conv, r.Agent, r.Text))
		return err
	})
	e.POST("/_fake/typing", func(c echo.Context) error {
		r, err := bind(c)
		if err != nil {
			return err
		}
		return srv.AgentTyping(c.Request().Context(), r.Conv, r.Agent, r.Typing)
	})
	e.POST("/_fake/position", func(c echo.Context) error {
		r, err := bind(c)
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.position = r.Position
		b.estOK = !r.NoEstimate
		b.mu.Unlock()
		return srv.QueueChanged(c.Request().Context(), r.Conv, "support")
	})
	e.POST("/_fake/availability", func(c echo.Context) error {
		r, err := bind(c)
		if err != nil {
			return err
		}
		b.mu.Lock()
		b.status = Status{Open: r.Availability != "closed", Opens: r.Opens}
		if r.Availability == "open" {
			b.status.AgentsOnline = 1
		}
		b.mu.Unlock()
		return c.NoContent(http.StatusNoContent)
	})
	e.POST("/_fake/decline", func(c echo.Context) error {
		r, err := bind(c)
		if err != nil {
			return err
		}
		return srv.OfferReturned(c.Request().Context(), r.Conv, "support")
	})
	e.POST("/_fake/close", func(c echo.Context) error {
		r, err := bind(c)
		if err != nil {
			return err
		}
		if err := b.CustomerEnded(c.Request().Context(), r.Conv); err != nil {
			return err
		}
		return srv.Closed(c.Request().Context(), r.Conv, ClosedByAgent)
	})
}
