package realtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// healthInterval is how long the receiver waits for a Redis message before
// it pings, so a connection that died quietly is noticed.
const healthInterval = 15 * time.Second

// broker moves publishes between gateways over Redis pub/sub. One PubSub
// connection per process carries every subscribed channel.
//
// Each message is the publishing node's id followed by the payload, so a
// node skips its own publishes: it has already delivered them locally,
// without the Redis round trip. A payload that starts with a NUL byte is
// an instruction to the hubs, not a frame for clients (no text frame
// starts with NUL): leaveOp followed by a topic is Hub.Leave, sent on the
// member topic's channel so that it keeps its place among that topic's
// frames.
type broker struct {
	hub    *Hub
	rdb    redis.UniversalClient
	node   string
	ps     *redis.PubSub
	pub    *publisher
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	waiters map[string]chan struct{} // channel -> closed on its subscribe confirmation
}

func newBroker(h *Hub, rdb redis.UniversalClient, node string) *broker {
	ctx, cancel := context.WithCancel(context.Background())
	return &broker{
		hub:     h,
		rdb:     rdb,
		node:    node,
		ps:      rdb.Subscribe(ctx),
		pub:     newPublisher(rdb, h.cfg.MaxPendingPublishes),
		ctx:     ctx,
		cancel:  cancel,
		waiters: make(map[string]chan struct{}),
	}
}

// publish sends payload to ch through the shared publisher (see
// publisher for its order and batching).
func (b *broker) publish(ctx context.Context, ch string, payload []byte) error {
	msg := make([]byte, 0, len(b.node)+len(payload))
	msg = append(msg, b.node...)
	msg = append(msg, payload...)
	return b.pub.publish(ctx, ch, msg)
}

// leaveOp starts a Hub.Leave instruction.
const leaveOp = "\x00leave\x00"

// publishLeave tells the other gateways to take the subscribers of ch's
// topic off topic.
func (b *broker) publishLeave(ctx context.Context, ch, topic string) error {
	return b.publish(ctx, ch, []byte(leaveOp+topic))
}

// subscribe sends SUBSCRIBE for ch and returns a channel closed when Redis
// confirms it: only from then on are publishes to ch delivered here. The
// write does not take the caller's context: go-redis drops the PubSub
// connection when a write is cut short, which would break every other
// subscription with it.
func (b *broker) subscribe(ch string) (<-chan struct{}, error) {
	wait := make(chan struct{})
	b.mu.Lock()
	b.waiters[ch] = wait
	b.mu.Unlock()
	if err := b.ps.Subscribe(b.ctx, ch); err != nil {
		b.mu.Lock()
		if b.waiters[ch] == wait {
			delete(b.waiters, ch)
		}
		b.mu.Unlock()
		if b.ctx.Err() != nil {
			return nil, ErrShuttingDown
		}
		return nil, fmt.Errorf("redis subscribe: %w", err)
	}
	return wait, nil
}

// unsubscribe does not wait for the confirmation: messages that arrive for
// ch meanwhile find no local subscriber and are dropped.
func (b *broker) unsubscribe(ch string) error {
	if b.ctx.Err() != nil {
		return nil // the whole PubSub is closing
	}
	b.mu.Lock()
	delete(b.waiters, ch)
	b.mu.Unlock()
	if err := b.ps.Unsubscribe(b.ctx, ch); err != nil {
		return fmt.Errorf("redis unsubscribe: %w", err)
	}
	return nil
}

// stop sends the publishes still queued, within ctx, then ends the
// subscriptions. It returns ctx's error if the publishes could not all be
// sent in time (the rest failed with ErrShuttingDown).
func (b *broker) stop(ctx context.Context) error {
	err := b.pub.close(ctx)
	b.cancel()
	_ = b.ps.Close()
	return err
}

func (b *broker) run() {
	backoff := 50 * time.Millisecond
	for {
		msg, err := b.ps.ReceiveTimeout(b.ctx, healthInterval)
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = b.ps.Ping(b.ctx)
				continue
			}
			b.hub.cfg.Logger.Warn("realtime: redis pub/sub receive failed; resubscribing", "err", err)
			// go-redis reconnects and resubscribes every channel on the
			// next receive, so the sockets stay open; what was published
			// meanwhile is gone, and each protocol's OnGap catches up.
			b.hub.gap()
			select {
			case <-time.After(backoff):
			case <-b.ctx.Done():
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				b.mu.Lock()
				if w, ok := b.waiters[m.Channel]; ok {
					close(w)
					delete(b.waiters, m.Channel)
				}
				b.mu.Unlock()
			}
		case *redis.Message:
			b.receive(m)
		}
	}
}

func (b *broker) receive(m *redis.Message) {
	if len(m.Payload) < len(b.node) || len(m.Channel) <= len(b.hub.prefix) {
		return // not ours: some other writer used our channel name
	}
	if m.Payload[:len(b.node)] == b.node {
		return
	}
	topic, payload := m.Channel[len(b.hub.prefix):], m.Payload[len(b.node):]
	if strings.HasPrefix(payload, "\x00") {
		// Applied here, on the receiver, before any later message of any
		// channel is delivered.
		if left, ok := strings.CutPrefix(payload, leaveOp); ok && checkTopic(left) == nil {
			b.hub.leave(topic, left)
		}
		return
	}
	b.hub.deliver(topic, []byte(payload))
}
