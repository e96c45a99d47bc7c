package promise

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFS embed.FS

func loadScript(name string) *redis.Script {
	b, err := luaFS.ReadFile("lua/" + name)
	if err != nil {
		panic("promise: embedded script " + name + ": " + err.Error()) // a build error, not a runtime one
	}
	return redis.NewScript(string(b))
}

var (
	scriptMake    = loadScript("make.lua")
	scriptResolve = loadScript("resolve.lua")
	scriptClaim   = loadScript("claim.lua")
	scriptFinish  = loadScript("finish.lua")
)

// Router is what the due loop needs from routing; the desk adapts the
// routing engine and the conversation service to it (desk.PromiseRouter).
type Router interface {
	// Owner reports agentID's routing state ("available", "away",
	// "offline") and whether they can take a conversation on channel now.
	Owner(ctx context.Context, agentID, channel string) (state string, canTake bool, err error)
	// Return puts the conversation back into routing at priority prio,
	// preferring owner. ErrGone when it was closed meanwhile. Calling it
	// again for a conversation routing already holds must succeed and
	// change nothing.
	Return(ctx context.Context, convID, owner string, prio int) error
}

// Consoles tells agents' consoles about their promises; best-effort.
type Consoles interface {
	// PromiseReminder: the promise falls due soon.
	PromiseReminder(ctx context.Context, agentID string, p Promise)
	// PromiseDue: the promise fell due (its conversation comes back, or the
	// agent holds it already).
	PromiseDue(ctx context.Context, agentID string, p Promise)
}

// Params build a Service. Redis and Workspace are required; Router is
// required for Run. Zero durations mean the documented defaults.
type Params struct {
	Redis     redis.UniversalClient
	Workspace string
	Router    Router
	// Consoles hears of reminders and due promises. Nil: nobody.
	Consoles Consoles
	// Broken is called once, on the gateway that cancelled it, when a
	// promise is broken (cancelled unresolved): the service-recovery hook.
	// The same fact is on the events stream (type "broken") for consumers
	// in other processes. Nil: nothing.
	Broken func(ctx context.Context, p Promise)
	// OwnerWindow is how long a due pending conversation waits for its
	// agent to become able to take it before it goes to the queue; 0: 5m.
	OwnerWindow time.Duration
	// RemindBefore is how long before the due time the agent's console is
	// reminded; 0: 10m; negative: no reminders.
	RemindBefore time.Duration
	// Priority is the routing priority of a returning conversation; 0: 50
	// (routing serves 0..99, higher first).
	Priority int
	// Lease is how long a claimed due promise is this gateway's before
	// another may claim it; 0: 30s.
	Lease time.Duration
	// Poll is how often Run looks for due promises; 0: 1s. Recheck is how
	// often a due promise whose agent cannot take it is looked at again
	// within OwnerWindow; 0: 5s.
	Poll, Recheck time.Duration
	// Location is the workspace's time zone, used to tell a customer the
	// due time when their own zone is unknown. Nil: UTC.
	Location *time.Location
	// EventsMaxLen caps the events stream; 0: 100,000.
	EventsMaxLen int64
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Logger receives what Run cannot return. Nil: discard.
	Logger *slog.Logger
}

// Service records, keeps and fires promises. Any number of gateways run
// one each against the same Redis.
type Service struct {
	rdb  redis.UniversalClient
	k    keys
	p    Params
	kick chan struct{}
	log  *slog.Logger
	// afterClaim runs after a claim, before the promise is acted on (tests
	// stop a gateway there).
	afterClaim func()
}

// New checks p and builds a Service.
func New(p Params) (*Service, error) {
	if p.Redis == nil || p.Workspace == "" {
		return nil, errors.New("promise: Params.Redis and Workspace are required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&p.OwnerWindow, 5*time.Minute)
	def(&p.RemindBefore, 10*time.Minute)
	def(&p.Lease, 30*time.Second)
	def(&p.Poll, time.Second)
	def(&p.Recheck, 5*time.Second)
	if p.Priority == 0 {
		p.Priority = 50
	}
	if p.Location == nil {
		p.Location = time.UTC
	}
	if p.EventsMaxLen == 0 {
		p.EventsMaxLen = 100_000
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{rdb: p.Redis, k: newKeys(p.Workspace), p: p, kick: make(chan struct{}, 1), log: log}, nil
}

// OnBroken sets Params.Broken after construction, for a component built
// later than the service (service recovery needs the desk, which needs
// this service). Call it before the gateway serves.
func (s *Service) OnBroken(f func(ctx context.Context, p Promise)) { s.p.Broken = f }

// EventsKey is the Redis stream of promise events (made, kept, late,
// broken, returned), for consumers in other processes.
func (s *Service) EventsKey() string { return s.k.events() }

// MaxWhat is the longest promise text, in characters.
const MaxWhat = 500

// Request is a promise to record.
type Request struct {
	ConversationID, CustomerID, AgentID, Queue, Channel string
	What                                                string
	Due                                                 time.Time
	Pending                                             bool
}

// Make records a promise. Due must be in the future.
func (s *Service) Make(ctx context.Context, n Request) (Promise, error) {
	n.What = strings.TrimSpace(n.What)
	now := s.p.Now()
	switch {
	case n.What == "":
		return Promise{}, &FieldError{Field: "what", Reason: "required"}
	case utf8.RuneCountInString(n.What) > MaxWhat:
		return Promise{}, &FieldError{Field: "what", Reason: fmt.Sprintf("at most %d characters", MaxWhat)}
	case !n.Due.After(now):
		return Promise{}, &FieldError{Field: "due", Reason: "must be in the future"}
	case n.ConversationID == "" || n.AgentID == "":
		return Promise{}, &FieldError{Field: "conversation", Reason: "conversation and agent are required"}
	}
	id := "pr_" + strings.ToLower(rand.Text()[:16])
	remind := ""
	if s.p.RemindBefore > 0 {
		if at := n.Due.Add(-s.p.RemindBefore); at.After(now) {
			remind = fmt.Sprint(ms(at))
		}
	}
	pending := "0"
	if n.Pending {
		pending = "1"
	}
	due := n.Due.UTC().Truncate(time.Millisecond)
	res, err := scriptMake.Run(ctx, s.rdb, []string{s.k.promise(id), s.k.due(), s.k.remind(), s.k.open(),
		s.k.agent(n.AgentID), s.k.conv(n.ConversationID), s.k.parked(), s.k.events()},
		id, n.ConversationID, n.CustomerID, n.AgentID, n.Queue, n.Channel, n.What, ms(due), ms(now), pending, remind, s.p.EventsMaxLen).Int()
	if err != nil {
		return Promise{}, fmt.Errorf("promise: make on %s: %w", n.ConversationID, err)
	}
	if res == 2 {
		return Promise{}, fmt.Errorf("promise: make on %s: %w", n.ConversationID, ErrParked)
	}
	return s.Get(ctx, id)
}

// Get returns one promise.
func (s *Service) Get(ctx context.Context, id string) (Promise, error) {
	h, err := s.rdb.HGetAll(ctx, s.k.promise(id)).Result()
	if err != nil {
		return Promise{}, fmt.Errorf("promise: get %s: %w", id, err)
	}
	if len(h) == 0 || h["id"] == "" {
		return Promise{}, fmt.Errorf("promise %s: %w", id, ErrNotFound)
	}
	return promiseFrom(h), nil
}

// Keep resolves the promise (kept by its due time, else late); via says
// how (ViaReply, ViaCall, ViaNote).
func (s *Service) Keep(ctx context.Context, id, via string) (Promise, error) {
	switch via {
	case ViaReply, ViaCall, ViaNote:
	default:
		return Promise{}, &FieldError{Field: "via", Reason: "reply, call or note"}
	}
	return s.resolve(ctx, id, "keep", via)
}

// Cancel gives the promise up: an open promise is broken, and Params.Broken
// hears of it. A pending conversation comes back to its agent at once.
func (s *Service) Cancel(ctx context.Context, id string) (Promise, error) {
	p, err := s.resolve(ctx, id, "cancel", "")
	if err == nil && s.p.Broken != nil {
		s.p.Broken(ctx, p)
	}
	return p, err
}

func (s *Service) resolve(ctx context.Context, id, how, via string) (Promise, error) {
	res, err := scriptResolve.Run(ctx, s.rdb, []string{s.k.promise(id), s.k.due(), s.k.remind(), s.k.open(),
		s.k.done(), s.k.parked(), s.k.events()}, s.k.p, id, how, ms(s.p.Now()), via, s.p.EventsMaxLen).Slice()
	if err != nil {
		return Promise{}, fmt.Errorf("promise: %s %s: %w", how, id, err)
	}
	switch res[0].(int64) {
	case -1:
		return Promise{}, fmt.Errorf("promise %s: %w", id, ErrNotFound)
	case 0:
		return Promise{}, fmt.Errorf("promise %s is %s: %w", id, res[1], ErrResolved)
	}
	s.wake()
	return s.Get(ctx, id)
}

// ForConversation lists every promise of a conversation, oldest first.
func (s *Service) ForConversation(ctx context.Context, convID string) ([]Promise, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.conv(convID), 0, 199).Result()
	if err != nil {
		return nil, fmt.Errorf("promise: list of %s: %w", convID, err)
	}
	return s.load(ctx, ids)
}

// ForAgent lists the agent's open promises by due time.
func (s *Service) ForAgent(ctx context.Context, agentID string) ([]Promise, error) {
	ids, err := s.rdb.ZRange(ctx, s.k.agent(agentID), 0, 199).Result()
	if err != nil {
		return nil, fmt.Errorf("promise: list of %s: %w", agentID, err)
	}
	return s.load(ctx, ids)
}

func (s *Service) load(ctx context.Context, ids []string) ([]Promise, error) {
	if len(ids) == 0 {
		return []Promise{}, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.k.promise(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("promise: load: %w", err)
	}
	out := make([]Promise, 0, len(ids))
	for _, c := range cmds {
		if h := c.Val(); h["id"] != "" {
			out = append(out, promiseFrom(h))
		}
	}
	return out, nil
}

// Waiting reports whether the conversation waits (pending) for a promise:
// routing has let go of it, and its record stays open on purpose.
func (s *Service) Waiting(ctx context.Context, convID string) (bool, error) {
	return s.ReadWaiting(convID).Result(ctx)
}

// WaitingRead is one read of Waiting that may ride in the pipeline of
// another service's read on the same Redis (the desk's check of who may
// close a conversation reads it with the record), else reads alone. A nil
// *WaitingRead (promises off) answers false.
type WaitingRead struct {
	s      *Service
	convID string
	cmd    *redis.BoolCmd
}

// ReadWaiting prepares a WaitingRead of convID.
func (s *Service) ReadWaiting(convID string) *WaitingRead {
	return &WaitingRead{s: s, convID: convID}
}

// Pipe queues the read on p when c is this service's client, and reports
// whether it did.
func (r *WaitingRead) Pipe(ctx context.Context, c redis.UniversalClient, p redis.Pipeliner) bool {
	if r == nil || c != r.s.rdb {
		return false
	}
	r.cmd = p.HExists(ctx, r.s.k.parked(), r.convID)
	return true
}

// Result is what Waiting answers: from the pipeline it rode in, or from
// its own read, made once.
func (r *WaitingRead) Result(ctx context.Context) (bool, error) {
	if r == nil {
		return false, nil
	}
	if r.cmd == nil {
		r.cmd = r.s.rdb.HExists(ctx, r.s.k.parked(), r.convID)
	}
	ok, err := r.cmd.Result()
	if err != nil {
		return false, fmt.Errorf("promise: waiting %s: %w", r.convID, err)
	}
	return ok, nil
}

// CustomerWrote brings a conversation that waits for a promise back now:
// the customer wrote before the due time.
func (s *Service) CustomerWrote(ctx context.Context, convID string) error {
	id, err := s.rdb.HGet(ctx, s.k.parked(), convID).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("promise: customer wrote on %s: %w", convID, err)
	}
	// LT: only ever earlier; XX: never re-add one that already fired.
	if err := s.rdb.ZAddArgs(ctx, s.k.due(), redis.ZAddArgs{XX: true, LT: true,
		Members: []redis.Z{{Score: float64(ms(s.p.Now())), Member: id}}}).Err(); err != nil {
		return fmt.Errorf("promise: customer wrote on %s: %w", convID, err)
	}
	s.wake()
	return nil
}

// wake makes this gateway's Run look at the due set now.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// SetCustomerZone remembers the customer's IANA time zone, in which due
// times are told to them.
func (s *Service) SetCustomerZone(ctx context.Context, customerID, zone string) error {
	if _, err := time.LoadLocation(zone); err != nil || zone == "" || zone == "Local" {
		return &FieldError{Field: "customer_time_zone", Reason: fmt.Sprintf("%q is not an IANA time zone such as Europe/Berlin", zone)}
	}
	if err := s.rdb.Set(ctx, s.k.zone(customerID), zone, 0).Err(); err != nil {
		return fmt.Errorf("promise: zone of %s: %w", customerID, err)
	}
	return nil
}

// CustomerZone is the customer's time zone when known, else the
// workspace's.
func (s *Service) CustomerZone(ctx context.Context, customerID string) *time.Location {
	name, err := s.rdb.Get(ctx, s.k.zone(customerID)).Result()
	if err == nil {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return s.p.Location
}

// DuePlaceholder in a message to the customer is replaced by the due time
// in their zone (Tell).
const DuePlaceholder = "{due}"

// Tell renders the agent's words for the customer: DuePlaceholder becomes
// the due time in loc ("Thu 3 Dec 15:00 CET"); without a placeholder the
// text is sent as written.
func Tell(text string, due time.Time, loc *time.Location) string {
	return strings.ReplaceAll(text, DuePlaceholder, due.In(loc).Format("Mon 2 Jan 15:04 MST"))
}

// Config is the `promises:` section of the configuration file; zero
// values keep Params' defaults.
type Config struct {
	// OwnerWindowSeconds: how long a due pending conversation waits for
	// its agent before it is queued. Zero: 300.
	OwnerWindowSeconds int `yaml:"owner_window_seconds"`
	// RemindBeforeSeconds: how long before the due time the agent's
	// console shows a reminder. Zero: 600; negative: none.
	RemindBeforeSeconds int `yaml:"remind_before_seconds"`
	// Priority of a conversation coming back for its promise (0..99).
	// Zero: 50.
	Priority int `yaml:"priority"`
}

// Apply copies c's settings into p.
func (c Config) Apply(p *Params) error {
	if c.Priority < 0 || c.Priority > 99 {
		return fmt.Errorf("%w: promises.priority: 0..99", ErrInvalid)
	}
	p.OwnerWindow = time.Duration(c.OwnerWindowSeconds) * time.Second
	p.RemindBefore = time.Duration(c.RemindBeforeSeconds) * time.Second
	p.Priority = c.Priority
	return nil
}
