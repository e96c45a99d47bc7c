package webchat

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/realtime"
	"github.com/switchboard/switchboard/internal/redistest"
)

// TestTwoGatewaysOneRedis puts the visitor's socket on gateway A and
// delivers the agent side through gateway B, as when the agent's console
// and the outbox run on another instance behind the load balancer.
func TestTwoGatewaysOneRedis(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t, redistest.Options{})
	b := newFakeBackend()
	gateway := func() (*Server, *httptest.Server) {
		hub, err := realtime.New(realtime.Config{Redis: rs.NewClient(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = hub.Shutdown(ctx)
		})
		srv, err := New(Config{TokenSecret: testSecret}, b, Deps{Hub: hub, Visitors: b})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		return srv, hs
	}
	_, hsA := gateway()
	srvB, _ := gateway()

	h := &harness{http: hsA, wsURL: "ws" + strings.TrimPrefix(hsA.URL, "http") + PathSocket}
	c := h.dial(t)
	c.hello("", nil)
	c.send(map[string]any{"type": "message", "id": "f_gateway1", "text": "hello from A"})
	conv := c.await("message")["conversation"].(string)

	ctx := context.Background()
	if err := srvB.AgentJoined(ctx, conv, "Ana"); err != nil {
		t.Fatal(err)
	}
	if f := c.await("agent_joined"); f["name"] != "Ana" {
		t.Fatalf("agent_joined %v", f)
	}
	out := b.agentReply(conv, "Ana", "answered from B")
	if _, err := srvB.Send(ctx, out); err != nil {
		t.Fatal(err)
	}
	if f := c.await("message"); f["text"] != "answered from B" || f["id"] != out.MessageID {
		t.Fatalf("message %v", f)
	}
	if err := srvB.Closed(ctx, conv, ClosedByAgent); err != nil {
		t.Fatal(err)
	}
	if f := c.await("closed"); f["reason"] != ClosedByAgent {
		t.Fatalf("closed %v", f)
	}
}
