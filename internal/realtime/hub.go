package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
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
	topics   map[string]subscribers
	nextID   uint64
	stopping bool

	// subMu guards redisSubs, so the decision "first subscriber" or "last
	// one gone" and the SUBSCRIBE or UNSUBSCRIBE write it leads to happen as
	// one step. It is never held while waiting for Redis to answer.
	subMu     sync.Mutex
	redisSubs map[string]*redisSub

	wg sync.WaitGroup // connection and broker goroutines

	// handling holds a token per crowd message being handled; see
	// Config.MaxHandling.
	handling chan struct{}
	// handlers run the messages' handlers on goroutines kept a moment.
	handlers *handlers

	// heap caches the live heap size for Admit, read at heapAt (unix ns).
	heap   atomic.Uint64
	heapAt atomic.Int64

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
		topics:    make(map[string]subscribers),
		redisSubs: make(map[string]*redisSub),
		bufPool:   &sync.Pool{},
		handling:  make(chan struct{}, cfg.MaxHandling),
		handlers:  newHandlers(),
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
		h.wg.Add(2)
		go func() {
			defer h.wg.Done()
			h.broker.run()
		}()
		go func() {
			defer h.wg.Done()
			h.broker.pub.run()
		}()
	}
	return h, nil
}

// Attach starts serving a client on t: a reader goroutine feeding
// opts.OnMessage, and a writer goroutine whenever there is something to
// send. It fails with ErrShuttingDown once Shutdown has begun, after
// closing t.
func (h *Hub) Attach(t Transport, opts ConnOptions) (*Conn, error) {
	c := &Conn{
		hub:  h,
		t:    t,
		opts: opts,
	}
	c.mu.Lock() // the timer may fire before the assignment is done
	c.ping = time.AfterFunc(h.cfg.PingInterval, c.pingNow)
	c.mu.Unlock()
	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		c.ping.Stop()
		_ = t.Close(CloseGoingAway, "server shutting down")
		return nil, ErrShuttingDown
	}
	h.nextID++
	c.id = h.nextID
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
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
	return h.topics[topic].len()
}

// Publish sends payload to every subscriber of topic on this gateway and,
// through Redis, on every other one. Local subscribers have it queued when
// Publish returns; an error means other gateways may not get it. The
// payload must not be changed afterwards.
//
// Concurrent publishes share Redis round trips: those queued while the
// previous batch is in flight go out together as one pipeline, and a lone
// publish goes out at once. Each caller still gets its own result. Two
// publishes of one caller, the second made after the first returned,
// reach the other gateways in that order (so do a Publish and a Leave).
// When Config.MaxPendingPublishes are waiting, Publish waits for room
// within ctx. After Shutdown it still reaches the other gateways, one
// round trip each, for a gateway draining its background work.
func (h *Hub) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := checkTopic(topic); err != nil {
		return err
	}
	if len(payload) > 0 && payload[0] == 0 {
		// Reserved for the hubs' own instructions (see broker).
		return fmt.Errorf("realtime: publish %s: a payload must not start with NUL", topic)
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

// Leave takes every connection subscribed to member, on this gateway and
// on every other, off topic. A protocol calls it when the clients it
// reaches through member lose the right to topic: an agent's consoles (all
// subscribed to the agent's topic) when the agent loses a conversation.
// The other gateways apply it in order with member's publishes, so a frame
// published on member after Leave returns reaches clients that have left.
// An error means other gateways may not have applied it.
func (h *Hub) Leave(ctx context.Context, member, topic string) error {
	if err := checkTopic(member); err != nil {
		return err
	}
	if err := checkTopic(topic); err != nil {
		return err
	}
	h.leave(member, topic)
	if h.broker == nil {
		return nil
	}
	if err := h.broker.publishLeave(ctx, h.Channel(member), topic); err != nil {
		return fmt.Errorf("realtime: leave %s for %s: %w", topic, member, err)
	}
	return nil
}

// leave takes this gateway's subscribers of member off topic.
func (h *Hub) leave(member, topic string) {
	h.mu.RLock()
	var targets []*Conn
	for _, c := range h.topics[member].appendTo(nil) {
		if c.hasTopic(topic) {
			targets = append(targets, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range targets {
		h.unsubscribe(c, topic)
	}
}

// deliver queues payload on every local subscriber of topic. The lock is
// released before Send, because a Send to a slow consumer closes it and
// closing takes the lock.
func (h *Hub) deliver(topic string, payload []byte) {
	h.mu.RLock()
	subs := h.topics[topic]
	targets := subs.appendTo(make([]*Conn, 0, subs.len()))
	h.mu.RUnlock()
	for _, c := range targets {
		_ = c.Send(payload) // a failed Send closed that client; it resumes
	}
}

func (h *Hub) subscribe(ctx context.Context, c *Conn, topic string) error {
	if err := checkTopic(topic); err != nil {
		return err
	}
	h.mu.RLock()
	already := c.hasTopic(topic)
	detached := c.detached
	h.mu.RUnlock()
	if detached {
		return ErrClosed
	}
	if already {
		return nil
	}
	ch := h.Channel(topic)
	if h.broker != nil {
		if err := h.acquire(ctx, ch); err != nil {
			return fmt.Errorf("realtime: subscribe %s: %w", topic, err)
		}
	}
	h.mu.Lock()
	already = c.hasTopic(topic)
	if c.detached || already {
		// Closed meanwhile, or a concurrent Subscribe of the same topic won:
		// give back the reference taken above.
		detached := c.detached
		h.mu.Unlock()
		h.releaseChannel(ch)
		if detached {
			return ErrClosed
		}
		return nil
	}
	h.topics[topic] = h.topics[topic].add(c)
	c.topics = append(c.topics, topic)
	h.mu.Unlock()
	return nil
}

// redisSub is this gateway's Redis subscription of one channel: how many
// local subscriptions (and subscribers still waiting) use it, and whether
// Redis confirmed it.
type redisSub struct {
	refs  int
	ready chan struct{} // closed when Redis confirmed, or the attempt failed
	err   error         // why it failed; set before ready is closed
}

// acquire takes a reference on channel ch, subscribing it in Redis for the
// first one, and returns once Redis has confirmed the subscription. Only
// the SUBSCRIBE write happens under subMu; the confirmation is awaited
// outside it, so a thousand visitors arriving at once wait for their
// confirmations together rather than one after another.
func (h *Hub) acquire(ctx context.Context, ch string) error {
	h.subMu.Lock()
	s := h.redisSubs[ch]
	if s == nil {
		s = &redisSub{ready: make(chan struct{})}
		wait, err := h.broker.subscribe(ch)
		if err != nil {
			h.subMu.Unlock()
			return err
		}
		h.redisSubs[ch] = s
		h.wg.Add(1)
		go h.confirm(ch, s, wait)
	}
	s.refs++
	h.subMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, h.cfg.SubscribeTimeout)
	defer cancel()
	select {
	case <-s.ready:
		if s.err != nil {
			h.releaseSub(ch, s)
			return s.err
		}
		return nil
	case <-ctx.Done():
		h.releaseSub(ch, s)
		return fmt.Errorf("redis subscribe confirmation: %w", ctx.Err())
	}
}

// confirm waits for Redis to confirm s, or gives it up after
// SubscribeTimeout, and unsubscribes it if every user left meanwhile.
func (h *Hub) confirm(ch string, s *redisSub, wait <-chan struct{}) {
	defer h.wg.Done()
	t := time.NewTimer(h.cfg.SubscribeTimeout)
	defer t.Stop()
	var err error
	select {
	case <-wait:
	case <-t.C:
		err = errors.New("redis subscribe: no confirmation in time")
	case <-h.broker.ctx.Done():
		err = ErrShuttingDown
	}
	h.subMu.Lock()
	defer h.subMu.Unlock()
	s.err = err
	close(s.ready)
	if err != nil || s.refs == 0 {
		// Failed, or nobody wants it any more: leave no subscription behind
		// (go-redis would otherwise renew it on every reconnect).
		if h.redisSubs[ch] == s {
			delete(h.redisSubs, ch)
			h.unsubscribeRedis(ch)
		}
	}
}

func (h *Hub) unsubscribe(c *Conn, topic string) {
	h.mu.Lock()
	had := c.hasTopic(topic)
	if had {
		h.removeLocked(c, topic)
	}
	h.mu.Unlock()
	if had {
		h.releaseChannel(h.Channel(topic))
	}
}

// removeLocked takes c off topic; h.mu is held.
func (h *Hub) removeLocked(c *Conn, topic string) {
	c.dropTopic(topic)
	if subs, ok := h.topics[topic]; ok {
		if subs = subs.remove(c); subs.len() == 0 {
			delete(h.topics, topic)
		} else {
			h.topics[topic] = subs
		}
	}
}

// releaseChannel gives back one reference on channel ch.
func (h *Hub) releaseChannel(ch string) {
	if h.broker == nil {
		return
	}
	h.subMu.Lock()
	s := h.redisSubs[ch]
	h.subMu.Unlock()
	if s != nil {
		h.releaseSub(ch, s)
	}
}

// releaseSub gives back one reference on s; the last one unsubscribes in
// Redis, unless the confirmation is still due (confirm does it then).
func (h *Hub) releaseSub(ch string, s *redisSub) {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	if h.redisSubs[ch] != s {
		return // already given up
	}
	s.refs--
	if s.refs > 0 {
		return
	}
	select {
	case <-s.ready:
	default:
		return
	}
	delete(h.redisSubs, ch)
	h.unsubscribeRedis(ch)
}

// unsubscribeRedis unsubscribes ch in Redis; h.subMu is held, so an
// UNSUBSCRIBE and a later SUBSCRIBE of the same channel reach Redis in
// that order.
func (h *Hub) unsubscribeRedis(ch string) {
	if err := h.broker.unsubscribe(ch); err != nil {
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
	topics := slices.Clone(c.topics)
	for _, topic := range topics {
		h.removeLocked(c, topic)
	}
	h.mu.Unlock()
	for _, topic := range topics {
		h.releaseChannel(h.Channel(topic))
	}
}

// gap tells every subscribed connection that its live feed may have lost
// messages: the Redis subscription broke and was renewed in place. No
// socket is closed for it; each protocol's OnGap catches its client up.
func (h *Hub) gap() {
	h.mu.RLock()
	var affected []*Conn
	for c := range h.conns {
		if len(c.topics) > 0 && c.opts.OnGap != nil {
			affected = append(affected, c)
		}
	}
	h.mu.RUnlock()
	for _, c := range affected {
		c.opts.OnGap(c)
	}
}

// Shutdown stops taking connections, closes every open one with 1001 going
// away, sends the publishes still queued for Redis and waits, within ctx,
// for the goroutines and the Redis receiver to end. It returns ctx's error
// if the wait was cut short; queued publishes not sent by then failed with
// ErrShuttingDown. Publish keeps working afterwards (see Publish).
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
	h.handlers.stop()
	var stopErr error
	if h.broker != nil {
		// Publishes already queued still go out: other gateways' consoles
		// want them.
		stopErr = h.broker.stop(ctx)
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		if stopErr != nil {
			return fmt.Errorf("realtime: shutdown: queued publishes: %w", stopErr)
		}
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
