package stats

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/hours"
)

// Source is what the Service reads: the routing event stream and the live
// agents. The wiring adapts routing.Engine to it, so this package does not
// depend on routing.
type Source interface {
	// Events reads the stream after afterID ("" for its start), oldest
	// first, at most count events.
	Events(ctx context.Context, afterID string, count int) ([]Event, error)
	// Subscribe rings whenever an event was appended, on any gateway, until
	// ctx ends; the channel is closed when the subscription ends.
	Subscribe(ctx context.Context) (<-chan Event, error)
	// Agents lists every agent as routing sees it now.
	Agents(ctx context.Context) ([]AgentLive, error)
}

// AgentLive is one agent's live routing state.
type AgentLive struct {
	ID, Name      string
	State, Reason string
	Since         time.Time
	Capacity      map[string]int
	Load          map[string]int
	Conversations []string
}

// QueueInfo is what the Service needs to know of one queue.
type QueueInfo struct {
	Name string
	// Channels listed even before they had traffic; empty lists those seen.
	Channels []string
	// ServiceLevel is the answer-time threshold (the queue's
	// service_level_seconds).
	ServiceLevel time.Duration
	// WaitLimit is the longest acceptable current wait (the queue's
	// overflow time); longer raises an alert. Zero: no such alert.
	WaitLimit time.Duration
	// ShortAbandon overrides Config.ShortAbandon for this queue; zero
	// keeps it.
	ShortAbandon time.Duration
	// Target overrides Config.Target for this queue; zero keeps it.
	Target float64
}

// QueueTargets are the fields of a `queues:` entry of the configuration
// file that only the supervisor figures read; routing ignores them.
type QueueTargets struct {
	Name string `yaml:"name"`
	// ShortAbandonSeconds: abandons within this many seconds are left out
	// of the service level and abandonment rate, and shown apart. Zero:
	// DefaultShortAbandon.
	ShortAbandonSeconds int `yaml:"short_abandon_seconds"`
	// ServiceLevelTarget is the share answered within
	// service_level_seconds below which supervisors are alerted, e.g. 0.8.
	// Zero: DefaultTarget.
	ServiceLevelTarget float64 `yaml:"service_level_target"`
}

// Validate refuses targets no queue can have.
func (q QueueTargets) Validate() error {
	if q.ShortAbandonSeconds < 0 || q.ServiceLevelTarget < 0 || q.ServiceLevelTarget > 1 {
		return errors.New("short_abandon_seconds must be ≥ 0 and service_level_target between 0 and 1")
	}
	return nil
}

// Defaults applied to zero fields of Config.
const (
	DefaultShortAbandon = 5 * time.Second
	DefaultTarget       = 0.8
	DefaultResync       = 5 * time.Second
)

// Config builds a Service; every zero field takes the default in its comment.
type Config struct {
	// Source is the event stream and the agents; required.
	Source Source
	// Queues are the configured queues, in display order.
	Queues []QueueInfo
	// ShortAbandon is the wait under which an abandon is excluded from the
	// service level and abandonment rate (and shown apart). Zero: 5 s.
	ShortAbandon time.Duration
	// Target is the service-level goal (share answered within threshold)
	// under which an alert is raised. Zero: 0.8.
	Target float64
	// Resync is how often the stream is read even without a live event, in
	// case pub/sub lost one. Zero: 5 s.
	Resync time.Duration
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Location is the workspace's time zone: "today" starts at its local
	// midnight and the history's daily intervals follow its calendar days
	// (23 or 25 hours long across a DST change). Nil: UTC.
	Location *time.Location
	// Reports are other figures served at the history API's address by
	// name (GET /api/v1/stats?report=csat). Nil: none.
	Reports map[string]http.Handler
	// OnAlert is told of every alert raised or cleared; the wiring logs it.
	OnAlert func(a Alert, raised bool)
	// Observe is told of every countable moment folded from events at or
	// after Run began, never of the replay of earlier ones: it feeds
	// Prometheus counters, which must start from zero with the process.
	Observe func(Observation)
	// Extra adds sections to the history API's JSON answer (not to its
	// CSV), each computed for the period asked: other features' figures
	// (promises kept on time). Nil: none.
	Extra map[string]func(ctx context.Context, from, to time.Time) (any, error)
	// Logger receives read failures. Nil discards them.
	Logger *slog.Logger
}

// Service folds the routing event stream of today (local to Config.Location) and follows it
// live, so every gateway that runs one holds the same figures. Safe for
// concurrent use.
type Service struct {
	cfg    Config
	queues map[string]QueueInfo

	mu      sync.Mutex
	folder  *Folder
	start   time.Time // first instant folded
	began   time.Time // when Run began: events before it are not observed
	lastID  string
	ready   bool
	alerts  map[string]Alert
	changed chan struct{}
}

// New checks cfg and returns a Service; Run starts it.
func New(cfg Config) (*Service, error) {
	if cfg.Source == nil {
		return nil, errors.New("stats: Config.Source is required")
	}
	if cfg.ShortAbandon <= 0 {
		cfg.ShortAbandon = DefaultShortAbandon
	}
	if cfg.Target <= 0 {
		cfg.Target = DefaultTarget
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Service{cfg: cfg, queues: map[string]QueueInfo{}, alerts: map[string]Alert{},
		changed: make(chan struct{}, 1)}
	for _, q := range cfg.Queues {
		s.queues[q.Name] = q
	}
	s.folder = s.newFolder()
	return s, nil
}

func (s *Service) thresholds(queue string) Thresholds {
	th := Thresholds{ServiceLevel: 20 * time.Second, ShortAbandon: s.cfg.ShortAbandon}
	if q, ok := s.queues[queue]; ok {
		if q.ServiceLevel > 0 {
			th.ServiceLevel = q.ServiceLevel
		}
		if q.ShortAbandon > 0 {
			th.ShortAbandon = q.ShortAbandon
		}
	}
	return th
}

// target is the queue's service-level goal.
func (s *Service) target(queue string) float64 {
	if q, ok := s.queues[queue]; ok && q.Target > 0 {
		return q.Target
	}
	return s.cfg.Target
}

func (s *Service) newFolder() *Folder {
	f := NewFolder(time.Minute, s.thresholds)
	f.Location = s.cfg.Location
	if obs := s.cfg.Observe; obs != nil {
		// Called from Apply, under s.mu.
		f.Observe = func(o Observation) {
			if !o.At.Before(s.began) {
				obs(o)
			}
		}
	}
	return f
}

// today is where the workspace's current local day began.
func (s *Service) today(now time.Time) time.Time { return hours.Day(now, s.cfg.Location) }

// windowStart is where a fold at now begins: local midnight, or an hour ago
// when that is earlier, so the 60-minute chart is whole just after midnight.
func (s *Service) windowStart(now time.Time) time.Time {
	day := s.today(now)
	if h := now.Add(-time.Hour).Truncate(time.Minute); h.Before(day) {
		return h
	}
	return day
}

// idBefore is the stream id just before t, for reading events from t on.
func idBefore(t time.Time) string {
	return strconv.FormatInt(t.UnixMilli()-1, 10) + "-18446744073709551615"
}

// idTime is the time a stream id ("<ms>-<seq>") was written.
func idTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n)
}

// Changes rings (without blocking, coalesced) after events were folded or
// alerts changed. One reader: the wiring's pusher.
func (s *Service) Changes() <-chan struct{} { return s.changed }

func (s *Service) ring() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Ready reports whether the catch-up read of today's events is done.
func (s *Service) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ready
}

// minRead spaces stream reads under load; far below the 1 s the page
// promises.
const minRead = 50 * time.Millisecond

// Run folds today's events, then follows the stream until ctx ends. Live
// events only ring the bell: the stream is read from the last id each
// time, so events are folded in stream order, exactly once, and an event
// pub/sub dropped is read anyway (at the latest after Resync).
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	s.began = s.cfg.Now()
	s.start = s.windowStart(s.began)
	s.lastID = idBefore(s.start)
	s.mu.Unlock()

	resync := time.NewTicker(s.cfg.Resync)
	defer resync.Stop()
	second := time.NewTicker(time.Second)
	defer second.Stop()
	var bell <-chan Event
	failing := false // log a failure once, not every second until Redis is back
	for {
		if bell == nil {
			// Subscribe before reading, so nothing falls between the two.
			b, err := s.cfg.Source.Subscribe(ctx)
			if err != nil && ctx.Err() == nil && !failing {
				s.cfg.Logger.Warn("stats: subscribe failed, reading the stream on a timer", "err", err)
				failing = true
			}
			bell = b
		}
		err := s.catchUp(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			s.cfg.Logger.Warn("stats: read events", "err", err)
			failing = true
		case err == nil && bell != nil && failing:
			s.cfg.Logger.Info("stats: reading events again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-bell:
			if !ok {
				bell = nil
			}
			// Let a burst gather: one read serves many events, and a busy
			// gateway reads the stream at most every minRead.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(minRead):
			}
			for drained := false; !drained && bell != nil; {
				select {
				case _, ok := <-bell:
					if !ok {
						bell = nil
					}
				default:
					drained = true
				}
			}
		case <-resync.C:
		case <-second.C:
			s.tick()
		}
	}
}

// catchUp reads and folds everything after lastID.
func (s *Service) catchUp(ctx context.Context) error {
	const page = 1000
	for {
		s.mu.Lock()
		after := s.lastID
		s.mu.Unlock()
		evs, err := s.cfg.Source.Events(ctx, after, page)
		if err != nil {
			return err
		}
		s.mu.Lock()
		for _, e := range evs {
			s.folder.Apply(e)
			s.lastID = e.ID
		}
		if len(evs) < page {
			s.ready = true
		}
		s.mu.Unlock()
		if len(evs) > 0 {
			s.ring()
		}
		if len(evs) < page {
			return nil
		}
	}
}

// tick runs every second: new day, memory bound, alerts.
func (s *Service) tick() {
	now := s.cfg.Now()
	s.mu.Lock()
	if ws := s.windowStart(now); ws.After(s.start) {
		s.start = ws
		s.folder.Prune(ws)
		// A conversation silent for a day has ended without telling us.
		s.folder.PruneIdle(now.Add(-24 * time.Hour))
	}
	raised, cleared := s.evaluateLocked(now)
	s.mu.Unlock()
	for _, a := range raised {
		if s.cfg.OnAlert != nil {
			s.cfg.OnAlert(a, true)
		}
	}
	for _, a := range cleared {
		if s.cfg.OnAlert != nil {
			s.cfg.OnAlert(a, false)
		}
	}
	if len(raised)+len(cleared) > 0 {
		s.ring()
	}
}

// History folds the stream between from and to into rows of step. Within
// the window this Service holds it answers from memory; earlier it reads
// the stream again (capped: about the last 100,000 events).
func (s *Service) History(ctx context.Context, from, to time.Time, step time.Duration, queue string) ([]Row, error) {
	s.mu.Lock()
	if s.ready && !from.Before(s.start) {
		rows := s.folder.Series(from, to, step, queue)
		s.mu.Unlock()
		return rows, nil
	}
	s.mu.Unlock()
	f := s.newFolder()
	f.Observe = nil
	after := idBefore(from)
	for {
		evs, err := s.cfg.Source.Events(ctx, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("stats: history: %w", err)
		}
		for _, e := range evs {
			if !idTime(e.ID).Before(to) {
				return f.Series(from, to, step, queue), nil
			}
			f.Apply(e)
			after = e.ID
		}
		if len(evs) < 1000 {
			return f.Series(from, to, step, queue), nil
		}
	}
}
