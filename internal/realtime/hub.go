package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync"
	"unicode"
)

// maxTopicLen bounds topic names; they end up in Redis channel names.
const maxTopicLen = 256

// Hub holds the websocket connections of one gateway process and the topics
// they are subscribed to. Build one per process with New; stop it with
// Shutdown.
type Hub struct {
	cfg    Config
	prefix string
	broker *broker // nil without Redis
	// publicURL is Config.PublicURL parsed; nil when unset.
	publicURL *url.URL

	// mu guards conns, topics and every Conn's topics and detached.
	mu       sync.RWMutex
	conns    map[*Conn]struct{}
	topics   map[string]map[*Conn]struct{}
	nextID   uint64
	stopping bool

	// subMu serializes changes to the Redis subscription set, so the
	// decision "first subscriber" or "last one gone" and the SUBSCRIBE or
	// UNSUBSCRIBE it leads to happen as one step.
	subMu     sync.Mutex
	redisSubs map[string]struct{}

	wg sync.WaitGroup // connection and broker goroutines

	// bufPool shares websocket write buffers between connections: an idle
	// connection then holds none, which is most of the memory of 10,000
	// mostly quiet chat sockets.
	bufPool *sync.Pool
}

// New builds a hub. With cfg.Redis set it starts the goroutine that
// receives other gateways' publishes; Shutdown stops it.
func New(cfg Config) (*Hub, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Hub{
		cfg:       cfg,
		prefix:    channelPrefix(cfg.Workspace),
		conns:     make(map[*Conn]struct{}),
		topics:    make(map[string]map[*Conn]struct{}),
		redisSubs: make(map[string]struct{}),
		bufPool:   &sync.Pool{},
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("realtime: Config.PublicURL %q is not an absolute http(s) URL", cfg.PublicURL)
		}
		h.publicURL = u
	}
	if cfg.Redis != nil {
		var id [8]byte
		if _, err := rand.Read(id[:]); err != nil {
			return nil, fmt.Errorf("realtime: node id: %w", err)
		}
		h.broker = newBroker(h, cfg.Redis, hex.EncodeToString(id[:]))
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.broker.run()
		}()
	}
	return h, nil
}

// Attach starts serving a client on t: a reader goroutine feeding
// opts.OnMessage and a writer goroutine draining the send queue. It fails
// with ErrShuttingDown once Shutdown has begun, after closing t.
func (h *Hub) Attach(t Transport, opts ConnOptions) (*Conn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		hub:    h,
		t:      t,
		opts:   opts,
		ctx:    ctx,
		cancel: cancel,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		topics: make(map[string]struct{}),
	}
	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		cancel()
		_ = t.Close(CloseGoingAway, "server shutting down")
		return nil, ErrShuttingDown
	}
	h.nextID++
	c.id = h.nextID
	h.conns[c] = struct{}{}
	h.wg.Add(2)
	h.mu.Unlock()
	go func() { defer h.wg.Done(); c.writeLoop() }()
	go func() { defer h.wg.Done(); c.readLoop() }()
	return c, nil
}

// Len reports the number of open connections.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// Subscribers reports how many local connections are subscribed to topic.
func (h *Hub) Subscribers(topic string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.topics[topic])
}

// Publish sends payload to every subscriber of topic on this gateway and,
// through Redis, on every other one. Local subscribers have it queued when
// Publish returns; an error means other gateways may not get it. The
// payload must not be changed afterwards.
func (h *Hub) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := checkTopic(topic); err != nil {
		return err
	}
	h.deliver(topic, payload)
	if h.broker == nil {
		return nil
	}
	if err := h.broker.publish(ctx, h.Channel(topic), payload); err != nil {
		return fmt.Errorf("realtime: publish %s: %w", topic, err)
	}
	return nil
}

// deliver queues payload on every local subscriber of topic. The lock is
// released before Send, because a Send to a slow consumer closes it and
// closing takes the lock.
func (h *Hub) deliver(topic string, payload []byte) {
	h.mu.RLock()
	subs := h.topics[topic]
	targets := make([]*Conn, 0, len(subs))
	for c := range subs {
		targets = append(targets, c)
	}
	h.mu.RUnlock()
	for _, c := range targets {
		_ = c.Send(payload) // a failed Send closed that client; it resumes
	}
}

func (h *Hub) subscribe(ctx context.Context, c *Conn, topic string) error {
	if err := checkTopic(topic); err != nil {
		return err
	}
	h.subMu.Lock()
	defer h.subMu.Unlock()
	ch := h.Channel(topic)
	if _, ok := h.redisSubs[ch]; !ok && h.broker != nil {
		ctx, cancel := context.WithTimeout(ctx, h.cfg.SubscribeTimeout)
		err := h.broker.subscribe(ctx, ch)
		cancel()
		if err != nil {
			return fmt.Errorf("realtime: subscribe %s: %w", topic, err)
		}
		h.redisSubs[ch] = struct{}{}
	}
	h.mu.Lock()
	if c.detached {
		empty := len(h.topics[topic]) == 0
		h.mu.Unlock()
		if empty {
			h.dropRedisSubLocked(ch)
		}
		return ErrClosed
	}
	subs := h.topics[topic]
	if subs == nil {
		subs = make(map[*Conn]struct{})
		h.topics[topic] = subs
	}
	subs[c] = struct{}{}
	c.topics[topic] = struct{}{}
	h.mu.Unlock()
	return nil
}

func (h *Hub) unsubscribe(c *Conn, topic string) {
	h.mu.Lock()
	_, had := c.topics[topic]
	if had {
		h.removeLocked(c, topic)
	}
	h.mu.Unlock()
	if had {
		h.release([]string{topic})
	}
}

// removeLocked takes c off topic; h.mu is held.
func (h *Hub) removeLocked(c *Conn, topic string) {
	delete(c.topics, topic)
	if subs := h.topics[topic]; subs != nil {
		delete(subs, c)
		if len(subs) == 0 {
			delete(h.topics, topic)
		}
	}
}

// release drops the Redis subscription of each topic left without local
// subscribers. It checks again under subMu, since a subscriber may have
// arrived since the caller looked.
func (h *Hub) release(topics []string) {
	if h.broker == nil {
		return
	}
	h.subMu.Lock()
	defer h.subMu.Unlock()
	for _, topic := range topics {
		h.mu.RLock()
		empty := len(h.topics[topic]) == 0
		h.mu.RUnlock()
		if empty {
			h.dropRedisSubLocked(h.Channel(topic))
		}
	}
}

// dropRedisSubLocked unsubscribes ch in Redis; h.subMu is held.
func (h *Hub) dropRedisSubLocked(ch string) {
	if _, ok := h.redisSubs[ch]; !ok || h.broker == nil {
		return
	}
	delete(h.redisSubs, ch)
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.SubscribeTimeout)
	defer cancel()
	if err := h.broker.unsubscribe(ctx, ch); err != nil {
		// A channel left subscribed only costs messages nobody reads; the
		// next connection to reach this topic finds it subscribed.
		h.cfg.Logger.Warn("realtime: redis unsubscribe failed", "channel", ch, "err", err)
	}
}

// detach removes a closed connection from the hub and its topics.
func (h *Hub) detach(c *Conn) {
	h.mu.Lock()
	c.detached = true
	delete(h.conns, c)
	topics := make([]string, 0, len(c.topics))
	for topic := range c.topics {
		topics = append(topics, topic)
		h.removeLocked(c, topic)
	}
	h.mu.Unlock()
	h.release(topics)
}

// gap tells every subscribed connection that its live feed may have lost
// messages.
func (h *Hub) gap() {
	h.mu.RLock()
	var affected []*Conn
	for c := range h.conns {
		if len(c.topics) > 0 {
			affected = append(affected, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range affected {
		if c.opts.OnGap != nil {
			c.opts.OnGap(c)
			continue
		}
		c.Close(CloseResync, "missed messages: reconnect and resume")
	}
}

// Shutdown stops taking connections, closes every open one with 1001 going
// away and waits, within ctx, for their goroutines and the Redis receiver to
// end. It returns ctx's error if the wait was cut short.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.stopping = true
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.Close(CloseGoingAway, "server shutting down")
	}
	if h.broker != nil {
		h.broker.stop()
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("realtime: shutdown: %w", ctx.Err())
	}
}

func checkTopic(topic string) error {
	if topic == "" || len(topic) > maxTopicLen {
		return fmt.Errorf("%w: length %d", ErrBadTopic, len(topic))
	}
	for _, r := range topic {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: %q", ErrBadTopic, topic)
		}
	}
	return nil
}
