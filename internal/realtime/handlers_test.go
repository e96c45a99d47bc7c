package realtime

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// goroutineID is the running goroutine's number, from its stack header.
func goroutineID() int {
	b := make([]byte, 64)
	b = b[:runtime.Stack(b, false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	n, _ := strconv.Atoi(string(b[:bytes.IndexByte(b, ' ')]))
	return n
}

// Messages one after another, on one connection or several, are handled
// by the goroutine that handled the one before (its stack already grown),
// not by a new goroutine each; none is handled on its reader.
func TestMessagesReuseTheirHandlerGoroutine(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{})
	var mu sync.Mutex
	var ids []int
	got := make(chan struct{}, 16)
	onMessage := func(c *Conn, msg []byte) error {
		mu.Lock()
		ids = append(ids, goroutineID())
		mu.Unlock()
		got <- struct{}{}
		return nil
	}
	var pipes []*Pipe
	for range 2 {
		p := NewPipe()
		if _, err := h.Attach(p, ConnOptions{OnMessage: onMessage}); err != nil {
			t.Fatal(err)
		}
		pipes = append(pipes, p)
	}
	for i := range 6 {
		if err := pipes[i%2].ClientSend([]byte(`{"type":"ping"}`)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d not handled", i)
		}
		time.Sleep(time.Millisecond) // the handler is back waiting
	}
	mu.Lock()
	defer mu.Unlock()
	for i, id := range ids {
		if id != ids[0] {
			t.Fatalf("handled on goroutines %v; want one, reused (message %d was not)", ids, i)
		}
	}
}

// A handler goroutine left waiting ends after its idle time, and at
// stop (Shutdown), so a quiet gateway keeps no grown stacks.
func TestAnIdleHandlerGoroutineEnds(t *testing.T) {
	t.Parallel()
	h := newHub(t, Config{})
	c := &Conn{hub: h, opts: ConnOptions{OnMessage: func(*Conn, []byte) error { return nil }}}
	done := make(chan error, 1)
	for _, tc := range []struct {
		idle time.Duration
		stop bool
	}{{20 * time.Millisecond, false}, {time.Hour, true}} {
		hs := newHandlers()
		hs.idle = tc.idle
		if err := hs.run(c, []byte("x"), done); err != nil {
			t.Fatal(err)
		}
		if n := hs.live.Load(); n != 1 {
			t.Fatalf("%d handler goroutines after a message, want 1 waiting", n)
		}
		if tc.stop {
			hs.stop()
		}
		eventually(t, "the waiting handler ended", func() bool { return hs.live.Load() == 0 })
	}
}

// deep uses about n KB of stack, as a handler's Redis call, JSON and
// templates do.
//
//go:noinline
func deep(n int) byte {
	var pad [1024]byte
	pad[n%1024] = byte(n)
	if n == 0 {
		return pad[0]
	}
	return deep(n-1) + pad[n%1024]
}

// BenchmarkHandlerGoroutines: a message's handler on a goroutine started
// for it (as before) against one reused from the hub's handlers, with a
// handler that needs 32 KB of stack.
func BenchmarkHandlerGoroutines(b *testing.B) {
	h := newHub(b, Config{})
	c := &Conn{hub: h, opts: ConnOptions{OnMessage: func(*Conn, []byte) error { deep(32); return nil }}}
	msg := []byte("x")
	b.Run("started per message", func(b *testing.B) {
		for b.Loop() {
			done := make(chan error, 1)
			go func() { done <- c.handle(msg) }()
			<-done
		}
	})
	b.Run("reused", func(b *testing.B) {
		hs := newHandlers()
		defer hs.stop()
		done := make(chan error, 1)
		for b.Loop() {
			_ = hs.run(c, msg, done)
		}
	})
}
