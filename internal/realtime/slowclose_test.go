package realtime

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Issue 11 item 6: a client dropped as too slow while a frame is still
// being written into its full socket gets the 4008 close frame once it
// reads again within the write timeout, not a bare 1006. (One that never
// reads again sees 1006: docs/protocol.md.)
func TestSlowConsumerSeesItsCloseCode(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{MaxQueueBytes: 256 << 10, WriteTimeout: 5 * time.Second})
	conns := make(chan *Conn, 1)
	_, url := serve(t, h, UpgradeOptions{ConnOptions: ConnOptions{OnMessage: func(c *Conn, msg []byte) error {
		select {
		case conns <- c:
		default:
		}
		return testProtocol(c, msg)
	}}})
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte("sub feed")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "ok feed" {
		t.Fatalf("subscribe: %q %v", msg, err)
	}
	conn := <-conns
	payload := bytes.Repeat([]byte("x"), 64<<10)
	// Publish at a pace the writer keeps up with until the socket is full
	// and the writer blocks; then the queue passes its cap.
	deadline := time.After(20 * time.Second)
publish:
	for {
		if code, closed := conn.CloseCode(); closed {
			if code != CloseSlowConsumer {
				t.Fatalf("closed with %d", code)
			}
			break publish
		}
		select {
		case <-deadline:
			t.Fatal("never dropped as a slow consumer")
		case <-time.After(2 * time.Millisecond):
		}
		if err := h.Publish(context.Background(), "feed", payload); err != nil {
			t.Fatal(err)
		}
	}
	// The client stalls past the old one-second close wait, then reads.
	time.Sleep(1500 * time.Millisecond)
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != CloseSlowConsumer {
			t.Fatalf("socket ended with %v, want close %d", err, CloseSlowConsumer)
		}
		return
	}
}
