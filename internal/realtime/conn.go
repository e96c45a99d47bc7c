package realtime

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// ConnOptions are a protocol's hooks into one connection.
type ConnOptions struct {
	// OnMessage handles one text message from the client. It runs on the
	// connection's reader goroutine, one message at a time, so a slow
	// handler slows only its own client. A returned *CloseError closes the
	// connection with its code; any other error closes it with
	// CloseBadMessage. A panic closes it with CloseInternalError.
	OnMessage func(c *Conn, msg []byte) error
	// OnClose runs once after the connection closed and left its topics,
	// with the code it was closed with.
	OnClose func(c *Conn, code int, reason string)
	// OnGap runs when messages for the connection's topics may have been
	// lost: the gateway's Redis subscription broke and was renewed. The
	// connection stays open; the protocol catches its client up (a fresh
	// snapshot, the transcript since its cursor). It runs on the hub's
	// Redis receiver, so it must return at once and do its work elsewhere.
	// Nil does nothing.
	OnGap func(c *Conn)
	// Label names the connection in logs, e.g. "agent:ana".
	Label string
	// Crowd puts the connection's messages under Config.MaxHandling: one
	// of many clients who may arrive all at once (chat visitors). The
	// others (agents' and supervisors' consoles) are handled at once, so a
	// burst of customers never queues an agent's accept behind it.
	Crowd bool
}

// Conn is one client connection held by a Hub.
type Conn struct {
	id   uint64
	hub  *Hub
	t    Transport
	opts ConnOptions

	mu      sync.Mutex
	queue   [][]byte
	pending int // bytes queued plus the frame being written
	closed  bool
	code    int
	reason  string
	// writing is true while a writer goroutine drains the queue. There is
	// none while nothing waits: ten thousand idle visitors would otherwise
	// hold ten thousand parked goroutines, each with its stack and ticker.
	writing bool
	pingDue bool        // the ping timer fired; the writer sends it
	ping    *time.Timer // fires Config.PingInterval after the last ping
	// done and afters are Context's: done is made on first use and closed
	// by Close; afters are the callbacks of contexts derived from it.
	done   chan struct{}
	afters []*afterFunc

	// topics and detached are guarded by hub.mu.
	topics   []string
	detached bool
}

// ID is unique among the connections of one hub.
func (c *Conn) ID() uint64 { return c.id }

// Label is the label given in ConnOptions.
func (c *Conn) Label() string { return c.opts.Label }

// Context is cancelled when the connection closes, so work a protocol
// starts for this client (a stream read for resume) ends with it.
func (c *Conn) Context() context.Context { return connContext{c} }

// connContext is a Conn's context. It is not a context.WithCancel: a
// cancelCtx keeps the map it made for its first child for the rest of its
// life, and a waiting visitor's socket, whose every message derives a
// context with a timeout, held some 300 bytes for that. This one keeps its
// children's callbacks in a slice that is given up when they are done.
type connContext struct{ c *Conn }

// afterFunc is one callback registered by AfterFunc; its address tells it
// apart from the others.
type afterFunc struct{ f func() }

func (connContext) Deadline() (time.Time, bool) { return time.Time{}, false }

func (connContext) Value(any) any { return nil }

func (x connContext) Done() <-chan struct{} {
	c := x.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.closed {
			close(c.done)
		}
	}
	return c.done
}

func (x connContext) Err() error {
	c := x.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return context.Canceled
	}
	return nil
}

// AfterFunc runs f on a goroutine of its own once the connection closes,
// unless stop is called first. The context package uses it to cancel a
// context derived from this one.
func (x connContext) AfterFunc(f func()) (stop func() bool) {
	c := x.c
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f}
	c.afters = append(c.afters, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.afters, a)
		if i < 0 {
			return false
		}
		c.afters = slices.Delete(c.afters, i, i+1)
		if len(c.afters) == 0 {
			c.afters = nil
		}
		return true
	}
}

// Send queues msg for the client and returns at once. The slice must not be
// changed afterwards: one published payload is shared by every subscriber.
// When the queue would pass Config.MaxQueueBytes the connection is closed
// with CloseSlowConsumer and ErrSlowConsumer returned; nobody waits for a
// slow client.
func (c *Conn) Send(msg []byte) error {
	limit := c.hub.cfg.MaxQueueBytes
	if len(msg) > limit {
		return fmt.Errorf("%w: %d bytes, cap %d", ErrTooLarge, len(msg), limit)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.pending+len(msg) > limit {
		c.mu.Unlock()
		c.Close(CloseSlowConsumer, "slow consumer: reconnect and resume")
		return ErrSlowConsumer
	}
	c.queue = append(c.queue, msg)
	c.pending += len(msg)
	c.startWriterLocked()
	c.mu.Unlock()
	return nil
}

// startWriterLocked starts a writer goroutine unless one is draining the
// queue already (it will see what was just queued). c.mu is held.
func (c *Conn) startWriterLocked() {
	if c.writing {
		return
	}
	c.writing = true
	c.hub.wg.Add(1)
	go func() { defer c.hub.wg.Done(); c.write() }()
}

// pingNow runs on the ping timer: the keep-alive goes through the writer,
// so it never interleaves with a message on the socket.
func (c *Conn) pingNow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.pingDue = true
	c.startWriterLocked()
}

// Queued reports the bytes waiting for the client, counting the frame being
// written.
func (c *Conn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending
}

// Subscribe adds the connection to topic. It returns once this gateway
// receives the topic's publishes from every gateway, so a protocol that then
// reads its stream backlog misses nothing in between.
func (c *Conn) Subscribe(ctx context.Context, topic string) error {
	return c.hub.subscribe(ctx, c, topic)
}

// Subscribed reports whether the connection is subscribed to topic now.
// A protocol checks it rather than keeping its own list, because the hub
// may take a connection off a topic (Hub.Leave) without the protocol
// asking.
func (c *Conn) Subscribed(topic string) bool {
	c.hub.mu.RLock()
	defer c.hub.mu.RUnlock()
	return c.hasTopic(topic)
}

// Unsubscribe removes the connection from topic.
func (c *Conn) Unsubscribe(topic string) { c.hub.unsubscribe(c, topic) }

// Close closes the connection with code and reason. It returns at once:
// the close frame is sent, and topics left, by other goroutines. Only the
// first call counts.
func (c *Conn) Close(code int, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.code, c.reason = code, reason
	c.queue, c.pending = nil, 0
	c.ping.Stop()
	if c.done != nil {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for _, a := range afters {
		go a.f()
	}
	c.hub.wg.Add(1)
	go func() {
		defer c.hub.wg.Done()
		// Close on the transport unblocks the reader and a writer stuck on
		// a slow socket; it is bounded by Config.WriteTimeout.
		_ = c.t.Close(code, reason)
		c.hub.detach(c)
		if c.opts.OnClose != nil {
			c.opts.OnClose(c, code, reason)
		}
	}()
}

// CloseCode reports the code the connection was closed with, and whether it
// is closed.
func (c *Conn) CloseCode() (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code, c.closed
}

// write sends what is queued, and a ping if one is due, until nothing is
// left; then the goroutine ends, and the next Send starts another.
func (c *Conn) write() {
	cfg := c.hub.cfg
	for {
		c.mu.Lock()
		batch, ping := c.queue, c.pingDue
		c.queue, c.pingDue = nil, false
		if c.closed || (len(batch) == 0 && !ping) {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if ping {
			if err := c.t.WritePing(time.Now().Add(cfg.WriteTimeout)); err != nil {
				c.fail("ping", err)
				return
			}
			c.mu.Lock()
			if !c.closed { // Close stopped the timer for good
				c.ping.Reset(cfg.PingInterval)
			}
			c.mu.Unlock()
		}
		for _, msg := range batch {
			if err := c.t.WriteMessage(msg, time.Now().Add(cfg.WriteTimeout)); err != nil {
				c.fail("write", err)
				return
			}
			c.mu.Lock()
			if !c.closed { // Close already zeroed the count
				c.pending -= len(msg)
			}
			c.mu.Unlock()
		}
	}
}

func (c *Conn) readLoop() {
	handled := make(chan error, 1) // the handlers' answers, one message at a time
	for {
		msg, err := c.t.ReadMessage()
		if err != nil {
			var ce *CloseError
			if errors.As(err, &ce) {
				c.Close(ce.Code, ce.Reason)
			} else {
				c.fail("read", err)
			}
			return
		}
		if c.opts.OnMessage == nil {
			continue
		}
		if err := c.handleApart(msg, handled); err != nil {
			var ce *CloseError
			if !errors.As(err, &ce) {
				c.hub.cfg.Logger.Debug("realtime: bad message", "conn", c.id, "label", c.opts.Label, "err", err)
				ce = &CloseError{Code: CloseBadMessage, Reason: "bad message"}
			}
			c.Close(ce.Code, ce.Reason)
			return
		}
	}
}

// handleApart runs one message's handler on another goroutine (the hub's
// handlers) and waits for it; a crowd connection first waits for room
// among Config.MaxHandling. Handlers go deep (Redis calls, JSON, templates)
// and a goroutine's stack keeps the size it grew to; the reader is parked
// for most of a connection's life, so with ten thousand idle visitors the
// stacks of their readers were a third of the gateway's memory.
func (c *Conn) handleApart(msg []byte, done chan error) error {
	if c.opts.Crowd {
		select {
		case c.hub.handling <- struct{}{}:
		case <-c.Context().Done():
			return &CloseError{Code: CloseGoingAway, Reason: "closed"}
		}
		defer func() { <-c.hub.handling }()
	}
	return c.hub.handlers.run(c, msg, done)
}

// handle runs OnMessage and turns a panic into a closed connection: one
// client's bad frame must not take down every other client of the process.
func (c *Conn) handle(msg []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.hub.cfg.Logger.Error("realtime: message handler panicked",
				"conn", c.id, "label", c.opts.Label, "panic", p, "stack", string(debug.Stack()))
			err = &CloseError{Code: CloseInternalError, Reason: "internal error"}
		}
	}()
	return c.opts.OnMessage(c, msg)
}

// fail closes a connection whose socket broke. Errors after Close are the
// expected result of closing the transport and are not worth a log line.
func (c *Conn) fail(op string, err error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if !closed && !errIsClosed(err) {
		c.hub.cfg.Logger.Debug("realtime: connection failed", "conn", c.id, "label", c.opts.Label, "op", op, "err", err)
	}
	c.Close(CloseAbnormal, op+" failed")
}
