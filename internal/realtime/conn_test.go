package realtime

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestConnContext: a context derived from a connection's ends when the
// connection closes, one that ended first leaves nothing behind on the
// connection, and a context derived after the close is done at once.
func TestConnContext(t *testing.T) {
	h := newHub(t, Config{})
	c, err := h.Attach(NewPipe(), ConnOptions{})
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	ctx := c.Context()
	if err := ctx.Err(); err != nil {
		t.Fatalf("Err of an open connection: %v", err)
	}

	early, cancelEarly := context.WithTimeout(ctx, time.Hour)
	live, cancelLive := context.WithCancel(ctx)
	defer cancelLive()
	cancelEarly()
	if early.Err() == nil {
		t.Fatal("a cancelled child is not done")
	}
	c.mu.Lock()
	n := len(c.afters)
	c.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d callbacks held, want 1 (the live child's only)", n)
	}

	c.Close(CloseNormal, "bye")
	for _, x := range []struct {
		desc string
		ctx  context.Context
	}{{"the connection's", ctx}, {"a live child", live}} {
		select {
		case <-x.ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s context not done after Close", x.desc)
		}
		if err := x.ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s context: Err %v, want context.Canceled", x.desc, err)
		}
	}
	late, cancelLate := context.WithTimeout(ctx, time.Hour)
	defer cancelLate()
	select {
	case <-late.Done():
	default:
		t.Error("a context derived after Close is not done")
	}
}
