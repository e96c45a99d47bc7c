package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/internal/store"
)

// Params build an Engine. Zero values mean the documented default.
type Params struct {
	// Client is the Redis the gateways share; required.
	Client redis.UniversalClient
	// Workspace scopes every key (it is the hash tag); "" means "default".
	Workspace string
	// Queues configured; empty means DefaultQueues().
	Queues []QueueConfig
	// Defaults fill what an AgentConfig leaves out.
	Defaults AgentDefaults
	// Clock tells the time; nil means the real clock.
	Clock Clock
	// Logger receives the sweep's errors; nil means slog.Default().
	Logger *slog.Logger
	// SweepInterval is how often Run requeues lapsed offers, ends wrap-ups,
	// applies presence and overflow and retries matching; 0 means 1s.
	SweepInterval time.Duration
	// PresenceGrace is how long an agent may go without a heartbeat before
	// being set offline; 0 means 30s.
	PresenceGrace time.Duration
	// EventsMaxLen caps the event stream (approximately); 0 means 100,000.
	EventsMaxLen int64
	// Retention is how long a finished conversation's routing state is kept
	// for Conversation(); 0 means 24h.
	Retention time.Duration
	// DirectCalls sends each script call on a pooled connection of its own.
	// By default script calls made while others are on their way to Redis
	// wait for one of those to return and then go out together, as one
	// pipeline (no timer: a lone call is sent at once). Under load Redis and
	// the gateway then pay one read and one write for many calls instead of
	// one each, and routing keeps up at rates where one connection per call
	// saturates the CPU (see docs/benchmarks.md). Every call is still one
	// atomic script; only the transport changes. Reads (Conversation,
	// Events, Subscribe, ...) always use the client directly.
	DirectCalls bool
}

// Engine routes conversations to agents. It is safe for concurrent use, and
// any number of Engines (one per gateway) may share one Redis.
type Engine struct {
	c         redis.UniversalClient
	calls     redis.Scripter // a store.Batcher, unless Params.DirectCalls
	k         keys
	queues    map[string]QueueConfig
	order     []string // queue names in configuration order
	defaults  AgentDefaults
	clock     Clock
	log       *slog.Logger
	sweep     time.Duration
	grace     time.Duration
	maxLen    int64
	retention time.Duration
	s         *scripts

	// samples caches each queue's measured waits and handle times for
	// estimates; see samplesFresh.
	samplesMu sync.Mutex
	samples   map[string]queueSamples

	live liveFeed // the Redis subscription all Subscribe calls share
}

// New checks p and builds an Engine. It does not touch Redis: the queue
// settings are written by Run, or on first use if a script finds them
// missing.
func New(p Params) (*Engine, error) {
	if p.Client == nil {
		return nil, fmt.Errorf("routing: Params.Client is required: %w", ErrInvalid)
	}
	e := &Engine{
		c: p.Client, defaults: p.Defaults, clock: p.Clock, log: p.Logger,
		sweep: p.SweepInterval, grace: p.PresenceGrace, maxLen: p.EventsMaxLen,
		retention: p.Retention, queues: map[string]QueueConfig{},
		samples: map[string]queueSamples{},
	}
	ws := p.Workspace
	if ws == "" {
		ws = "default"
	}
	if err := validName(ws); err != nil {
		return nil, fmt.Errorf("routing: workspace %q: %w", ws, err)
	}
	e.k = newKeys(ws)
	e.calls = e.c
	if !p.DirectCalls {
		e.calls = store.NewBatcher(e.c)
	}
	if e.clock == nil {
		e.clock = realClock{}
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.sweep <= 0 {
		e.sweep = time.Second
	}
	if e.grace <= 0 {
		e.grace = 30 * time.Second
	}
	if e.maxLen <= 0 {
		e.maxLen = 100_000
	}
	if e.retention <= 0 {
		e.retention = 24 * time.Hour
	}
	qs := p.Queues
	if len(qs) == 0 {
		qs = DefaultQueues()
	}
	for _, q := range qs {
		if err := q.Validate(); err != nil {
			return nil, fmt.Errorf("routing: %w", err)
		}
		if _, dup := e.queues[q.Name]; dup {
			return nil, fmt.Errorf("routing: queue %s: name: configured twice", q.Name)
		}
		e.queues[q.Name] = q
		e.order = append(e.order, q.Name)
	}
	for _, q := range qs {
		if q.OverflowQueue != "" {
			if _, ok := e.queues[q.OverflowQueue]; !ok {
				return nil, fmt.Errorf("routing: queue %s: overflow_queue: %q is not configured", q.Name, q.OverflowQueue)
			}
		}
	}
	s, err := loadScripts()
	if err != nil {
		return nil, err
	}
	e.s = s
	return e, nil
}

// Queues returns the configured queues in configuration order.
func (e *Engine) Queues() []QueueConfig {
	out := make([]QueueConfig, 0, len(e.order))
	for _, n := range e.order {
		out = append(out, e.queues[n])
	}
	return out
}

// Run keeps the engine's background work going until ctx ends: every
// SweepInterval it requeues lapsed offers (from any gateway), ends due
// wrap-ups, sets agents without heartbeats offline, overflows long waits and
// retries matching. It returns nil when ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.Prepare(ctx); err != nil && ctx.Err() == nil {
		e.log.Warn("routing: prepare", "err", err)
	}
	t := time.NewTicker(e.sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
				// Run is the top of its goroutine: logging is the handling.
				e.log.Warn("routing: sweep", "err", err)
			}
		}
	}
}

// sweepBatch bounds how much one script call of the sweep handles, so a
// long backlog never blocks Redis for long; the sweep loops instead.
const sweepBatch = 200

// Sweep runs one pass of Run's background work. Tests with a fake clock
// call it directly.
func (e *Engine) Sweep(ctx context.Context) error {
	var errs []error
	loop := func(name string, sc *redis.Script, args ...any) {
		for range 50 {
			res, err := e.call(ctx, sc, nil, args...)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return
			}
			if len(res) < 2 || res[1] < sweepBatch {
				return
			}
		}
	}
	loop("recover", e.s.recover, sweepBatch)
	loop("wrapup", e.s.wrapup, sweepBatch)
	cutoff := e.clock.Now().Add(-e.grace).UnixMilli()
	loop("presence", e.s.presence, cutoff, sweepBatch)
	loop("overflow", e.s.overflow, sweepBatch)
	args := make([]any, len(e.order))
	for i, q := range e.order {
		args[i] = q
	}
	if _, err := e.call(ctx, e.s.rematch, nil, args...); err != nil {
		errs = append(errs, fmt.Errorf("rematch: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("routing: sweep: %w", err)
	}
	return nil
}

// Prepare writes the queue settings and loads every script into Redis, so
// the first decisions do not pay for it. Run calls it; calling it earlier is
// optional (scripts and settings are also loaded on first use).
func (e *Engine) Prepare(ctx context.Context) error {
	if err := e.writeQueues(ctx); err != nil {
		return err
	}
	for _, sc := range e.s.all() {
		if err := sc.Load(ctx, e.c).Err(); err != nil {
			return fmt.Errorf("routing: load scripts: %w", err)
		}
	}
	return nil
}

// writeQueues stores every queue's settings for the scripts.
func (e *Engine) writeQueues(ctx context.Context) error {
	_, err := e.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, q := range e.queues {
			f := q.scriptFields()
			// ovf_in tells the scripts to look at the queue's overflow set
			// at all: most queues receive no overflow.
			f["ovf_in"] = "0"
			for _, o := range e.queues {
				if o.OverflowQueue == q.Name {
					f["ovf_in"] = "1"
				}
			}
			p.HSet(ctx, e.k.qcfg(q.Name), f)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("routing: write queue settings: %w", err)
	}
	return nil
}

// call runs one script with the common arguments (lib.lua) in front and
// maps its result code. A script that finds the queue settings missing
// (a fresh or flushed Redis) gets them written and is run once more.
func (e *Engine) call(ctx context.Context, sc *redis.Script, ks []string, args ...any) ([]int64, error) {
	keys := make([]string, 0, 1+len(ks))
	keys = append(keys, e.k.events())
	keys = append(keys, ks...)
	full := make([]any, 0, 3+len(args))
	full = append(full, e.clock.Now().UnixMilli(), e.maxLen, e.retention.Milliseconds())
	full = append(full, args...)
	for attempt := 0; ; attempt++ {
		res, err := sc.Run(ctx, e.calls, keys, full...).Int64Slice()
		if err != nil {
			if store.SlotMoving(err) && attempt < store.SlotRetries {
				// Refused before writing anything (lib.lua): try again
				// once the slot has settled.
				if !store.SlotWait(ctx, attempt) {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		if len(res) == 0 {
			return nil, errors.New("empty script result")
		}
		if res[0] == codeNoQueueConfig && attempt == 0 {
			if err := e.writeQueues(ctx); err != nil {
				return nil, err
			}
			continue
		}
		return res, codeErr(res[0])
	}
}

// Request is a conversation to route.
type Request struct {
	// ConversationID identifies the conversation; required.
	ConversationID string
	// Queue to wait in; "" means the first configured queue.
	Queue string
	// Channel is one of channel.All; required.
	Channel string
	// CustomerID is recorded with the conversation and its events.
	CustomerID string
	// Priority: higher is served first; 0 is normal. The queue's priority
	// and boosts are added; the sum is clamped to 0..99.
	Priority int
	// Skills the agent must have, on top of the queue's.
	Skills []string
	// EnqueuedAt orders the conversation within its priority; zero means now.
	EnqueuedAt time.Time
	// Returning and VIP raise the priority by the queue's boosts.
	Returning, VIP bool
	// LastAgentID and LastServedAt name the agent who served this customer
	// last; that agent is preferred within the queue's sticky window. A zero
	// LastServedAt means no preference.
	LastAgentID  string
	LastServedAt time.Time
	// Recovery raises the priority by the queue's recovery boost (the
	// customer is in service recovery).
	Recovery bool
	// PreferSkill, when set, is a skill preferred among agents when the
	// last agent cannot take the conversation: an available agent with it
	// is offered the conversation before the longest-idle one without.
	PreferSkill string
}

// Enqueue puts a conversation in its queue and, in the same script, offers
// it to the best agent if one is free.
func (e *Engine) Enqueue(ctx context.Context, r Request) error {
	if r.ConversationID == "" {
		return fmt.Errorf("routing: enqueue: conversation id: %w", ErrInvalid)
	}
	if r.Queue == "" {
		r.Queue = e.order[0]
	}
	q, ok := e.queues[r.Queue]
	if !ok {
		return fmt.Errorf("routing: enqueue %s: queue %q: %w", r.ConversationID, r.Queue, ErrUnknownQueue)
	}
	if !slices.Contains(channels, r.Channel) || !q.Serves(r.Channel) {
		return fmt.Errorf("routing: enqueue %s: channel %q in queue %s: %w", r.ConversationID, r.Channel, r.Queue, ErrUnknownChannel)
	}
	prio := r.Priority
	if r.Returning {
		prio += q.ReturningBoost
	}
	if r.VIP {
		prio += q.VIPBoost
	}
	if r.Recovery {
		prio += q.recoveryBoost()
	}
	if r.PreferSkill != "" {
		if err := validName(r.PreferSkill); err != nil {
			return fmt.Errorf("routing: enqueue %s: preferred skill %q: %w: %w", r.ConversationID, r.PreferSkill, ErrInvalid, err)
		}
	}
	skills := append(slices.Clone(q.Skills), r.Skills...)
	slices.Sort(skills)
	skills = slices.Compact(skills)
	for _, s := range skills {
		if err := validName(s); err != nil {
			return fmt.Errorf("routing: enqueue %s: skill %q: %w: %w", r.ConversationID, s, ErrInvalid, err)
		}
	}
	enq := r.EnqueuedAt
	if enq.IsZero() {
		enq = e.clock.Now()
	}
	var lastServed int64
	if !r.LastServedAt.IsZero() {
		lastServed = r.LastServedAt.UnixMilli()
	}
	_, err := e.call(ctx, e.s.enqueue, []string{e.k.conv(r.ConversationID)},
		r.ConversationID, r.Queue, r.Channel, r.CustomerID, prio, strings.Join(skills, ","),
		enq.UnixMilli(), r.LastAgentID, lastServed, r.PreferSkill)
	if err != nil {
		return fmt.Errorf("routing: enqueue %s: %w", r.ConversationID, err)
	}
	return nil
}

// Accept makes the conversation offered to agentID active. It fails with
// ErrNotOffered when the offer went to someone else or its deadline passed.
func (e *Engine) Accept(ctx context.Context, conversationID, agentID string) error {
	if _, err := e.call(ctx, e.s.accept, []string{e.k.conv(conversationID)}, conversationID, agentID); err != nil {
		return fmt.Errorf("routing: accept %s by %s: %w", conversationID, agentID, err)
	}
	return nil
}

// Decline returns the offered conversation to its place in the queue; it is
// offered to another agent, and the declining agent's slot is refilled.
func (e *Engine) Decline(ctx context.Context, conversationID, agentID string) error {
	if _, err := e.call(ctx, e.s.decline, []string{e.k.conv(conversationID)}, conversationID, agentID); err != nil {
		return fmt.Errorf("routing: decline %s by %s: %w", conversationID, agentID, err)
	}
	return nil
}

// Close ends an active conversation. agentID "" closes it for whoever holds
// it. With the queue's wrap-up time set, the agent keeps the slot (and gets
// no call) until wrap-up ends; then the slot is freed and refilled.
func (e *Engine) Close(ctx context.Context, conversationID, agentID string) error {
	_, err := e.CloseHeld(ctx, conversationID, agentID)
	return err
}

// CloseHeld is Close that also tells when the agent accepted what it
// closed: the accept its handling time counts from (EventClosed's Handle),
// read in the same step, so no transfer and accept in between can make it
// another's.
func (e *Engine) CloseHeld(ctx context.Context, conversationID, agentID string) (acceptedAt time.Time, err error) {
	res, err := e.call(ctx, e.s.close, []string{e.k.conv(conversationID)}, conversationID, agentID)
	if err != nil {
		return time.Time{}, fmt.Errorf("routing: close %s by %s: %w", conversationID, agentID, err)
	}
	if len(res) > 2 && res[2] > 0 {
		acceptedAt = time.UnixMilli(res[2])
	}
	return acceptedAt, nil
}

// Target is where Transfer sends a conversation: a queue, a named agent, or
// both (the agent gets it as an offer, the conversation moves to the queue).
type Target struct {
	Queue   string
	AgentID string
}

// Transfer moves a waiting, offered or active conversation to another queue
// or offers it to a named agent, keeping its original enqueue time. A named
// agent who cannot take it now gives ErrAgentUnavailable and nothing changes.
func (e *Engine) Transfer(ctx context.Context, conversationID string, to Target) error {
	if to.Queue == "" && to.AgentID == "" {
		return fmt.Errorf("routing: transfer %s: empty target: %w", conversationID, ErrInvalid)
	}
	if to.Queue != "" {
		if _, ok := e.queues[to.Queue]; !ok {
			return fmt.Errorf("routing: transfer %s: queue %q: %w", conversationID, to.Queue, ErrUnknownQueue)
		}
	}
	if _, err := e.call(ctx, e.s.transfer, []string{e.k.conv(conversationID)}, conversationID, to.Queue, to.AgentID); err != nil {
		return fmt.Errorf("routing: transfer %s to %+v: %w", conversationID, to, err)
	}
	return nil
}

// Abandon takes a waiting or offered conversation out of routing before
// anyone served it: the conversation leaves its queue, or the agent it was
// offered to. cause says why (the abandoned event carries it): the
// customer left, or staff closed it from the queue, which supervisors'
// figures must not count as the customer's abandon.
func (e *Engine) Abandon(ctx context.Context, conversationID string, cause AbandonCause) error {
	if cause != CauseCustomer && cause != CauseClosed {
		return fmt.Errorf("routing: abandon %s: cause %q: %w", conversationID, cause, ErrInvalid)
	}
	if _, err := e.call(ctx, e.s.abandon, []string{e.k.conv(conversationID)}, conversationID, string(cause)); err != nil {
		return fmt.Errorf("routing: abandon %s (%s): %w", conversationID, cause, err)
	}
	return nil
}

// AgentState is an agent's chosen state. Busy is not a state: it is derived
// (available with no free capacity) and reported in AgentStatus.
type AgentState string

// Agent states.
const (
	StateOffline   AgentState = "offline"
	StateAvailable AgentState = "available"
	StateAway      AgentState = "away"
)

// UpsertAgent creates an agent (offline) or changes its settings, keeping
// its state and current conversations.
func (e *Engine) UpsertAgent(ctx context.Context, a Agent) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("routing: upsert agent: %w: %w", ErrInvalid, err)
	}
	queues := a.Queues
	if len(queues) == 0 {
		queues = e.order
	}
	for _, q := range queues {
		if _, ok := e.queues[q]; !ok {
			return fmt.Errorf("routing: upsert agent %s: queue %q: %w", a.ID, q, ErrUnknownQueue)
		}
	}
	name := a.Name
	if name == "" {
		name = a.ID
	}
	skills := slices.Clone(a.Skills)
	slices.Sort(skills)
	skillArg := ","
	if len(skills) > 0 {
		skillArg = "," + strings.Join(slices.Compact(skills), ",") + ","
	}
	excl := "1"
	if a.VoiceShared {
		excl = "0"
	}
	_, err := e.call(ctx, e.s.upsertAgent, []string{e.k.agent(a.ID)},
		a.ID, name, skillArg, strings.Join(queues, ","), capacityArg(a, e.defaults), excl,
		e.defaults.maxMissed(a))
	if err != nil {
		return fmt.Errorf("routing: upsert agent %s: %w", a.ID, err)
	}
	return nil
}

// SetAgentState sets an agent available, away or offline. Available fills
// the agent's free capacity at once; away and offline send the agent's open
// offers back to the queue.
func (e *Engine) SetAgentState(ctx context.Context, agentID string, st AgentState, reason string) error {
	switch st {
	case StateAvailable, StateAway, StateOffline:
	default:
		return fmt.Errorf("routing: agent %s: state %q: %w", agentID, st, ErrInvalid)
	}
	if _, err := e.call(ctx, e.s.agentState, []string{e.k.agent(agentID)}, agentID, string(st), reason); err != nil {
		return fmt.Errorf("routing: agent %s state %s: %w", agentID, st, err)
	}
	return nil
}

// Heartbeat tells the engine the agent's console is connected. Without one
// for PresenceGrace the agent goes offline and its offers are requeued; the
// next heartbeat restores the previous state.
func (e *Engine) Heartbeat(ctx context.Context, agentID string) error {
	if _, err := e.call(ctx, e.s.heartbeat, []string{e.k.agent(agentID)}, agentID); err != nil {
		return fmt.Errorf("routing: heartbeat %s: %w", agentID, err)
	}
	return nil
}

// RecordEstimate stores the wait estimate given to the customer with the
// conversation; the accepted event carries it, so its accuracy is measured.
func (e *Engine) RecordEstimate(ctx context.Context, conversationID string, est Estimate) error {
	enough := "0"
	if est.Enough {
		enough = "1"
	}
	_, err := e.call(ctx, e.s.recordEstimate, []string{e.k.conv(conversationID)},
		conversationID, est.Low.Milliseconds(), est.High.Milliseconds(), enough)
	if err != nil {
		return fmt.Errorf("routing: record estimate for %s: %w", conversationID, err)
	}
	return nil
}

// ms, atoi and dur read fields that are often absent: an empty string is
// zero without a parse, whose error would allocate on every event.
func ms(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

func atoi(s string) int {
	if s == "" {
		return 0
	}
	n, _ := strconv.Atoi(s)
	return n
}
