package webhook

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/routing"
)

//go:embed lua/*.lua
var luaFS embed.FS

func script(name string) *redis.Script {
	b, err := luaFS.ReadFile("lua/" + name)
	if err != nil {
		panic("webhook: missing script " + name)
	}
	return redis.NewScript(string(b))
}

var (
	scriptEnqueue = script("enqueue.lua")
	scriptClaim   = script("claim.lua")
	scriptFinish  = script("finish.lua")
	scriptRetry   = script("retry.lua")
)

// Params build a Service. Every zero value picks the documented default.
type Params struct {
	// Redis holds endpoints and deliveries. Required.
	Redis redis.UniversalClient
	// Workspace is the hash tag of all keys and the envelope's workspace.
	// Zero: "default".
	Workspace string
	// Routing is the event source: its stream is fanned out through the
	// consumer group "webhooks". Required for Run.
	Routing *routing.Engine
	// Consumer names this gateway in the consumer group; unique per process.
	Consumer string
	// Conversations feeds message.*, customer.* and conversation.closed
	// from its event stream. Nil: none of these.
	Conversations Conversations
	// Promises feeds promise.* from its events stream. Nil: none.
	Promises Promises
	// Ratings feeds rating.received from its ratings stream. Nil: none.
	Ratings Ratings
	// ClaimAfter is how long an event read by a gateway that died before
	// queuing its deliveries waits before another gateway takes it over.
	// Zero: 30s.
	ClaimAfter time.Duration
	// OrderWindow is how long the first waiting event of a conversation is
	// held before it is sent, so an earlier event of that conversation
	// still being fanned out by another gateway goes first. Zero: 200ms.
	OrderWindow time.Duration
	// Workers deliver concurrently per gateway. Zero: 4.
	Workers int
	// Timeout bounds one request, connect to last byte. Zero: 10s.
	Timeout time.Duration
	// MaxResponseBytes of a response body are read (and kept, shortened,
	// for the admin view). Zero: 64 KiB.
	MaxResponseBytes int64
	// RetryFor is how long a delivery is retried after its first attempt
	// before it is dead-lettered. Zero: 24h.
	RetryFor time.Duration
	// BaseBackoff is the first retry's wait; it doubles per attempt, with
	// full jitter, up to MaxBackoff. Zero: 5s and 1h.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// PauseAfter pauses an endpoint that failed without a success for this
	// long. Zero: 6h.
	PauseAfter time.Duration
	// Lease is how long a claimed delivery stays with this gateway. It must
	// exceed Timeout. Zero: Timeout + 20s.
	Lease time.Duration
	// Dial makes connections; the guard wraps it. Nil: a net.Dialer. Tests
	// pass one that fails if asked for anything but loopback.
	Dial DialFunc
	// Resolver resolves endpoint host names. Nil: net.DefaultResolver.
	Resolver Resolver
	// OnOutcome is told of each attempt (for metrics). Nil: nobody.
	OnOutcome func(o Outcome)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Outcome is one delivery attempt, as metrics see it.
type Outcome struct {
	Endpoint string
	// Result is "delivered", "retry", "failed" (final) or "dead".
	Result  string
	Status  int
	Latency time.Duration
}

// Service manages endpoints and delivers events to them.
type Service struct {
	p        Params
	rdb      redis.UniversalClient
	k        keys
	client   *http.Client
	resolver Resolver
	log      *slog.Logger
	now      func() time.Time
	wake     chan struct{}

	mu        sync.Mutex
	cached    []Endpoint
	cachedAt  time.Time
	cacheTime time.Duration
}

// New checks p and builds the service.
func New(p Params) (*Service, error) {
	if p.Redis == nil {
		return nil, errors.New("webhook: Params.Redis is required")
	}
	if p.Workspace == "" {
		p.Workspace = "default"
	}
	if p.Workers <= 0 {
		p.Workers = 4
	}
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Second
	}
	if p.MaxResponseBytes <= 0 {
		p.MaxResponseBytes = 64 << 10
	}
	if p.RetryFor <= 0 {
		p.RetryFor = 24 * time.Hour
	}
	if p.BaseBackoff <= 0 {
		p.BaseBackoff = 5 * time.Second
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = time.Hour
	}
	if p.PauseAfter <= 0 {
		p.PauseAfter = 6 * time.Hour
	}
	if p.OrderWindow <= 0 {
		p.OrderWindow = 200 * time.Millisecond
	}
	if p.ClaimAfter <= 0 {
		p.ClaimAfter = 30 * time.Second
	}
	if p.Lease <= p.Timeout {
		p.Lease = p.Timeout + 20*time.Second
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Resolver == nil {
		p.Resolver = net.DefaultResolver
	}
	if p.Dial == nil {
		p.Dial = (&net.Dialer{Timeout: p.Timeout, KeepAlive: 30 * time.Second}).DialContext
	}
	s := &Service{p: p, rdb: p.Redis, k: keys{ws: p.Workspace}, resolver: p.Resolver,
		log: p.Logger, now: p.Now, wake: make(chan struct{}, 1), cacheTime: time.Second}
	s.client = &http.Client{
		Timeout: p.Timeout,
		Transport: &http.Transport{
			// No proxy from the environment: the guard must see the real
			// destination.
			Proxy:                 nil,
			DialContext:           guardedDial(p.Dial, p.Resolver),
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   p.Timeout,
			ResponseHeaderTimeout: p.Timeout,
		},
		// A redirect could lead anywhere, including inside the network.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, nil
}

// endpoints returns the endpoints, cached for a second: the fan-out reads
// them for every event.
func (s *Service) endpoints(ctx context.Context) ([]Endpoint, error) {
	s.mu.Lock()
	if s.cached != nil && s.now().Sub(s.cachedAt) < s.cacheTime {
		eps := s.cached
		s.mu.Unlock()
		return eps, nil
	}
	s.mu.Unlock()
	eps, err := s.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cached, s.cachedAt = eps, s.now()
	s.mu.Unlock()
	return eps, nil
}

// forget drops the endpoint cache after a change made here; other
// gateways see it within a second.
func (s *Service) forget() {
	s.mu.Lock()
	s.cached = nil
	s.mu.Unlock()
}

// Run fans the events of routing and of the other sources in Params out
// to the endpoints and delivers them until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if s.p.Routing == nil || s.p.Consumer == "" {
		return errors.New("webhook: Run needs Params.Routing and Params.Consumer")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { s.deliverLoop(ctx) })
	if srcs := s.sources(); len(srcs) > 0 {
		wg.Go(func() { s.consumeFacts(ctx, srcs) })
	}
	err := s.p.Routing.Consume(ctx, routing.ConsumeParams{Group: group, Consumer: s.p.Consumer, Handle: s.fanOut,
		ClaimAfter: s.p.ClaimAfter, ReadLinger: factLinger})
	cancel()
	wg.Wait()
	return err
}

// fanOut queues the envelopes of one routing event for every endpoint that
// wants them.
func (s *Service) fanOut(ctx context.Context, ev routing.Event) error {
	return s.queueAll(ctx, fromRouting(s.p.Workspace, ev))
}

// wanted reports whether some endpoint takes one of types. Envelopes that
// read records (a message's text, the customer as they are now) ask first:
// with no endpoint for them, those reads were most of the fan-out's Redis
// round trips per contact, spent on nothing.
func (s *Service) wanted(ctx context.Context, types ...string) (bool, error) {
	eps, err := s.endpoints(ctx)
	if err != nil {
		return false, err
	}
	for _, ep := range eps {
		for _, typ := range types {
			if ep.wants(typ) {
				return true, nil
			}
		}
	}
	return false, nil
}

// queueAll queues envs for every endpoint that wants them. Queuing is
// idempotent per event and endpoint, so a fan-out repeated after a crash
// queues nothing twice.
func (s *Service) queueAll(ctx context.Context, envs []Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	eps, err := s.endpoints(ctx)
	if err != nil {
		return err
	}
	queued := false
	for _, ep := range eps {
		for _, env := range envs {
			if !ep.wants(env.Type) {
				continue
			}
			if _, err := s.enqueue(ctx, ep.ID, env, false); err != nil {
				return err
			}
			queued = true
		}
	}
	if queued {
		s.poke()
	}
	return nil
}

// deliveryTTL is how long a finished delivery stays readable (admin view,
// replay of one delivery).
const deliveryTTL = 7 * 24 * time.Hour

// logCap is how many outcomes each endpoint's log keeps.
const logCap = 1000

func (s *Service) enqueue(ctx context.Context, ep string, env Envelope, replay bool) (int64, error) {
	body, err := env.body()
	if err != nil {
		return 0, err
	}
	return s.enqueueRaw(ctx, ep, env.ID, env.Type, env.key, body, replay)
}

func (s *Service) enqueueRaw(ctx context.Context, ep, id, typ, key string, body []byte, replay bool) (int64, error) {
	if key == "" {
		key = "-"
	}
	now := s.now()
	mode := ""
	if replay {
		mode = "replay"
	}
	n, err := scriptEnqueue.Run(ctx, s.rdb,
		[]string{s.k.delivery(ep, id), s.k.order(ep, key), s.k.due()},
		ep+"|"+id, id, now.UnixMilli(), int64(deliveryTTL/time.Second), mode, s.p.OrderWindow.Milliseconds(), s.k.prefix(), ep,
		"ep", ep, "type", typ, "key", key, "body", body, "attempts", 0,
		"first_at", "", "queued_at", now.UnixMilli(), "status", "queued", "code", "", "error", "", "lease", "",
	).Int64()
	if err != nil {
		return 0, fmt.Errorf("webhook: queue %s for %s: %w", id, ep, err)
	}
	return n, nil
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
