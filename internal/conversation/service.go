package conversation

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
)

// Errors callers branch on. The API maps them to HTTP statuses.
var (
	// ErrNotFound means no conversation, customer or message has that id.
	ErrNotFound = errors.New("not found")
	// ErrClosed means the conversation is closed and takes no replies.
	ErrClosed = errors.New("conversation closed")
	// ErrInvalid means an argument was malformed (an address, a cursor);
	// the wrapping *FieldError names the field.
	ErrInvalid = errors.New("invalid")
	// ErrCloseUnderWay means the record holds a close's mark (MarkClosing):
	// routing's abandon of the conversation is taken for that close's
	// doing, not the customer's leaving, until the close is recorded or
	// taken for dead.
	ErrCloseUnderWay = errors.New("a close is under way")
	// ErrTooLarge means an attachment or a message exceeds its size limit.
	ErrTooLarge = errors.New("too large")
	// ErrUnknownMessage means a delivery status named a provider id that no
	// sent message carries; the channel contract's error, one name for one
	// thing.
	ErrUnknownMessage = channel.ErrUnknownMessage
)

// FieldError is an invalid argument, naming the field it came from so an API
// can say which one.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) hold for every FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Route is where conversations opened on one of our addresses go.
type Route struct {
	// Queue is the routing queue. Empty means Params.DefaultQueue.
	Queue string
	// Skills an agent needs to be offered these conversations. Nil: none.
	Skills []string
	// Priority is added to every conversation's priority. Zero: no boost.
	Priority int
}

// VIPTag is the customer tag that marks a VIP. The service tells routing
// who is a VIP and who returns (RouteRequest); the boosts they earn are
// routing's one priority policy, configured per queue (returning_boost,
// vip_boost).
const VIPTag = "vip"

// DefaultSendWorkers is how many messages a process sends at once unless
// told otherwise. A send mostly waits on the provider: Twilio's API answers
// in a few hundred milliseconds, an SMTP server after a few round trips.
// Four workers held a gateway to about 27 replies a second against an API
// answering in 150 ms (docs/benchmarks.md). Providers limit concurrent
// requests per account, a limit all gateways share; a request refused for
// it (HTTP 429) is put off and tried again without counting an attempt
// (channel.BusyError). Channels that must stay lower bound themselves
// (email: smtp.max_connections per mailbox) and answer busy when a send
// has waited a moment for their bound, so that it gives its worker back.
const DefaultSendWorkers = 64

// OutboxConfig tunes sending. Every zero value picks the documented default.
type OutboxConfig struct {
	// Workers sending concurrently per process. Zero: DefaultSendWorkers.
	Workers int
	// Poll is how often due messages are looked for when nothing wakes the
	// loop. Zero: 250ms.
	Poll time.Duration
	// SendTimeout bounds one Sender.Send call. Zero: 30s.
	SendTimeout time.Duration
	// Lease is how long a claimed message stays with the claiming process
	// before any process may claim it again. It must exceed SendTimeout.
	// Zero: SendTimeout + 30s.
	Lease time.Duration
	// BaseBackoff is the wait after the first temporary failure; it doubles
	// per attempt up to MaxBackoff. Zero: 1s; MaxBackoff zero: 5m.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// MaxAttempts before a temporarily failing message is failed for good.
	// Zero: 10.
	MaxAttempts int
	// MaxBusyWait is how long a message may be put off, counting no
	// attempt, while its sender answers busy (channel.BusyError: a 429,
	// a mailbox's connections all in use). Past it, busy counts as a
	// temporary failure. Zero: 10m.
	MaxBusyWait time.Duration
	// RouteRetry is how long a conversation may wait for routing to accept
	// it before the loop enqueues it again. Zero: 5s.
	RouteRetry time.Duration
}

// Params build a Service. Redis and Router are required.
type Params struct {
	// Redis is the store; every key lives under sb:{Workspace}:.
	Redis redis.UniversalClient
	// Workspace is the hash tag of all keys. Zero: "default".
	Workspace string
	// Router takes new conversations. Required.
	Router Router
	// Notifier is told about every transcript append. Nil: nobody is.
	Notifier Notifier
	// Senders deliver replies, one per channel. A reply on a channel with no
	// Sender fails permanently with code "no_sender".
	Senders map[channel.Name]Sender
	// Routes maps our address (Inbound.To, compared case-insensitively) to
	// where its conversations go. Unlisted addresses use DefaultQueue.
	Routes map[string]Route
	// DefaultQueue is the queue for unlisted addresses. Zero: "default".
	DefaultQueue string
	// Attachments keeps attachment files. Nil: a DirStore in
	// AttachmentDir, which is fine for one gateway only (or a volume they
	// share): gateways behind one load balancer need a shared store.
	Attachments AttachmentStore
	// AttachmentDir is the DirStore's directory when Attachments is nil.
	// Zero: DataDir/attachments; both zero: ./data/attachments.
	AttachmentDir string
	DataDir       string
	// MaxAttachmentBytes limits one file. Zero: 10 MiB.
	MaxAttachmentBytes int64
	// MaxMessageAttachmentBytes limits all files of one message. Zero: 25 MiB.
	MaxMessageAttachmentBytes int64
	// DedupTTL is how long a provider id is remembered. Zero: 30 days, which
	// covers Twilio's retries and an email re-fetch after a mailbox resync.
	DedupTTL time.Duration
	// ThreadTTL is how long a thread hint or a provider id (email's, in
	// and out; other channels keep none) finds its conversation. Zero: 90
	// days.
	ThreadTTL time.Duration
	// Outbox tunes sending.
	Outbox OutboxConfig
	// EventsMaxLen caps the event stream (EventsKey), approximately.
	// Zero: 100,000.
	EventsMaxLen int64
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Logger receives what the background loop cannot return. Nil: discard.
	Logger *slog.Logger
}

// Service is the conversation service: it implements Receiver and
// StatusReceiver for channels, takes agents' replies and notes, records what
// routing reports, and runs the outbox. It holds no state of its own beyond
// configuration; any number of Services may share one Redis.
type Service struct {
	rdb      redis.UniversalClient
	k        keys
	router   Router
	notifier Notifier
	senders  map[channel.Name]Sender
	routes   map[string]Route
	defQueue string
	att      AttachmentStore
	maxFile  int64
	maxMsg   int64
	dedupTTL time.Duration
	thrTTL   time.Duration
	ob       OutboxConfig
	evCap    int64
	now      func() time.Time
	log      *slog.Logger
	wake     chan struct{}
	workers  sendWorkers

	// mu guards what is registered after construction (AddSender,
	// SetNotifier): the service is built first, the channels and the
	// desk that listens to it afterwards.
	mu sync.RWMutex
}

// The contract channels depend on.
var (
	_ Receiver       = (*Service)(nil)
	_ StatusReceiver = (*Service)(nil)
)

//go:embed lua/*.lua lua/lib/*.lua
var luaFS embed.FS

// Scripts are parsed once; redis.Script is immutable, so sharing them is
// safe and costs nothing per Service.
var (
	scriptReceive  = loadScript("receive.lua", "lib/customer.lua", "lib/optout.lua")
	scriptUpdate   = loadScript("update.lua", "lib/customer.lua")
	scriptReply    = loadScript("reply.lua", "lib/optout.lua")
	scriptClaim    = loadScript("claim.lua", "lib/optout.lua")
	scriptFinish   = loadScript("finish.lua")
	scriptDelivery = loadScript("delivery.lua")
	scriptMerge    = loadScript("merge.lua")
	scriptLink     = loadScript("link.lua")
	scriptStart    = loadScript("start.lua", "lib/customer.lua")
	scriptTag      = loadScript("tag.lua")
)

// loadScript reads lua/name with the libraries it uses (lua/lib) in
// front: Lua scripts in Redis cannot include one another.
func loadScript(name string, libs ...string) *redis.Script {
	var src strings.Builder
	for _, f := range append(libs, name) {
		b, err := luaFS.ReadFile("lua/" + f)
		if err != nil {
			panic("conversation: embedded script missing: " + f)
		}
		src.Write(b)
	}
	return redis.NewScript(src.String())
}

// New checks p and builds a Service. Call Run to start the outbox.
func New(p Params) (*Service, error) {
	if p.Redis == nil {
		return nil, errors.New("conversation: Params.Redis is required")
	}
	if p.Router == nil {
		return nil, errors.New("conversation: Params.Router is required")
	}
	s := &Service{
		rdb:      p.Redis,
		k:        keys{ws: p.Workspace},
		router:   p.Router,
		notifier: p.Notifier,
		senders:  map[channel.Name]Sender{},
		routes:   map[string]Route{},
		defQueue: p.DefaultQueue,
		att:      p.Attachments,
		maxFile:  p.MaxAttachmentBytes,
		maxMsg:   p.MaxMessageAttachmentBytes,
		dedupTTL: p.DedupTTL,
		thrTTL:   p.ThreadTTL,
		ob:       p.Outbox,
		evCap:    p.EventsMaxLen,
		now:      p.Now,
		log:      p.Logger,
		wake:     make(chan struct{}, 1),
	}
	if s.k.ws == "" {
		s.k.ws = "default"
	}
	if strings.ContainsAny(s.k.ws, "{}: ") {
		return nil, fmt.Errorf("conversation: workspace %q: must not contain braces, colons or spaces", s.k.ws)
	}
	for ch, snd := range p.Senders {
		if snd != nil {
			s.senders[ch] = snd
		}
	}
	for addr, r := range p.Routes {
		s.routes[strings.ToLower(strings.TrimSpace(addr))] = r
	}
	if s.defQueue == "" {
		s.defQueue = "default"
	}
	if s.att == nil {
		dir := p.AttachmentDir
		if dir == "" {
			dd := p.DataDir
			if dd == "" {
				dd = "data"
			}
			dir = filepath.Join(dd, "attachments")
		}
		s.att = DirStore{Dir: dir}
	}
	if s.maxFile <= 0 {
		s.maxFile = 10 << 20
	}
	if s.maxMsg <= 0 {
		s.maxMsg = 25 << 20
	}
	if s.dedupTTL <= 0 {
		s.dedupTTL = 30 * 24 * time.Hour
	}
	if s.thrTTL <= 0 {
		s.thrTTL = 90 * 24 * time.Hour
	}
	if s.ob.Workers <= 0 {
		s.ob.Workers = DefaultSendWorkers
	}
	s.workers.max = s.ob.Workers
	if s.ob.Poll <= 0 {
		s.ob.Poll = 250 * time.Millisecond
	}
	if s.ob.SendTimeout <= 0 {
		s.ob.SendTimeout = 30 * time.Second
	}
	if s.ob.Lease <= 0 {
		s.ob.Lease = s.ob.SendTimeout + 30*time.Second
	}
	if s.ob.Lease <= s.ob.SendTimeout {
		return nil, fmt.Errorf("conversation: outbox lease %s must exceed send timeout %s", s.ob.Lease, s.ob.SendTimeout)
	}
	if s.ob.BaseBackoff <= 0 {
		s.ob.BaseBackoff = time.Second
	}
	if s.ob.MaxBackoff <= 0 {
		s.ob.MaxBackoff = 5 * time.Minute
	}
	if s.ob.MaxBusyWait <= 0 {
		s.ob.MaxBusyWait = 10 * time.Minute
	}
	if s.ob.MaxAttempts <= 0 {
		s.ob.MaxAttempts = 10
	}
	if s.ob.RouteRetry <= 0 {
		s.ob.RouteRetry = 5 * time.Second
	}
	if s.evCap <= 0 {
		s.evCap = 100_000
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// MaxAttachmentBytes is the per-file attachment limit.
func (s *Service) MaxAttachmentBytes() int64 { return s.maxFile }

// MaxMessageAttachmentBytes is the limit on all stored files of a message.
func (s *Service) MaxMessageAttachmentBytes() int64 { return s.maxMsg }

// AddRoute sends conversations opened on our address addr (Inbound.To,
// compared case-insensitively) to r. Channels' addresses are added as the
// wiring registers each channel.
func (s *Service) AddRoute(addr string, r Route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[strings.ToLower(strings.TrimSpace(addr))] = r
}

func (s *Service) route(to string) Route {
	s.mu.RLock()
	r := s.routes[strings.ToLower(strings.TrimSpace(to))]
	s.mu.RUnlock()
	if r.Queue == "" {
		r.Queue = s.defQueue
	}
	return r
}

// newID returns a random id with a readable prefix (cv_, cu_, m_). 80
// random bits: ids are created by many gateways at once with no coordination.
func newID(prefix string) string {
	return prefix + strings.ToLower(rand.Text()[:16])
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS reads a time in ms, zero when absent: an empty field is not
// parsed, whose error would allocate on every record read.
func fromMS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

func (s *Service) notify(ctx context.Context, convID string, e Entry) {
	s.mu.RLock()
	n := s.notifier
	s.mu.RUnlock()
	if n != nil {
		n.Notify(ctx, convID, e)
	}
}

// AddSender registers the Sender of channel ch, replacing any earlier one.
// Replies on a channel without a Sender fail with code "no_sender".
func (s *Service) AddSender(ch channel.Name, snd Sender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.senders[ch] = snd
}

// SetNotifier makes n the one told about every transcript append.
func (s *Service) SetNotifier(n Notifier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifier = n
}

func (s *Service) sender(ch channel.Name) Sender {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.senders[ch]
}
