package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/stats"
	"github.com/switchboard/switchboard/routing"
)

// supervisorParams is what wireSupervisor needs from the rest of the wiring.
type supervisorParams struct {
	engine  *routing.Engine
	convs   *conversation.Service
	auth    *auth.Service
	console *agentui.Handler
	reg     *prometheus.Registry
}

// wireSupervisor builds the stats service, the supervisor view, the stats
// history API and the metrics, and starts the loops that feed them.
func (a *App) wireSupervisor(e *echo.Echo, v1 *echo.Group, p supervisorParams) error {
	extra, err := supervisorQueueFields(a.cfg.File.Queues)
	if err != nil {
		return err
	}
	queues := make([]stats.QueueInfo, 0, len(p.engine.Queues()))
	for _, q := range p.engine.Queues() {
		x := extra[q.Name]
		queues = append(queues, stats.QueueInfo{Name: q.Name, Channels: q.Channels,
			ServiceLevel: q.ServiceLevel(), WaitLimit: q.OverflowAfter(),
			ShortAbandon: time.Duration(x.ShortAbandonSeconds) * time.Second, Target: x.ServiceLevelTarget})
	}
	metrics := stats.NewMetrics()
	sup := &supervisorBackend{engine: p.engine, convs: p.convs, log: a.log}
	svc, err := stats.New(stats.Config{
		Source: statsSource{p.engine}, Queues: queues, Logger: a.log, OnAnswer: metrics.ObserveAnswer, Location: a.cfg.Location,
		OnAlert: func(al stats.Alert, raised bool) {
			// Alerts are events of this gateway: every gateway folds the
			// same stream and raises the same alert, so each tells only
			// its own supervisors (and its log), nothing is published.
			if raised {
				a.log.Warn("supervisor alert", "kind", al.Kind, "queue", al.Queue, "channel", al.Channel, "agent", al.AgentID, "message", al.Message)
			} else {
				a.log.Info("supervisor alert cleared", "kind", al.Kind, "queue", al.Queue, "channel", al.Channel, "agent", al.AgentID)
			}
			if v := sup.view; v != nil {
				v.PushAlert(al, raised)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("app: stats: %w", err)
	}
	metrics.Attach(svc)
	if err := p.reg.Register(metrics); err != nil {
		return fmt.Errorf("app: stats metrics: %w", err)
	}
	sup.svc = svc
	view, err := agentui.NewSupervisor(agentui.SupervisorConfig{Backend: sup, Console: p.console})
	if err != nil {
		return fmt.Errorf("app: supervisor view: %w", err)
	}
	sup.view = view
	view.Register(e)
	v1.GET("/stats", echo.WrapHandler(svc.HistoryHandler()), p.auth.Middleware(auth.RoleSupervisor))
	a.background = append(a.background, svc.Run, func(ctx context.Context) error {
		pushBoards(ctx, svc, sup, view, a.log)
		return nil
	})
	return nil
}

// supervisorQueue holds the fields of a `queues:` entry that only the
// supervisor figures read; routing ignores them.
type supervisorQueue struct {
	Name string `yaml:"name"`
	// ShortAbandonSeconds: abandons within this many seconds are left out
	// of the service level and abandonment rate, and shown apart. Zero: 5.
	ShortAbandonSeconds int `yaml:"short_abandon_seconds"`
	// ServiceLevelTarget is the share answered within
	// service_level_seconds below which supervisors are alerted, e.g. 0.8.
	// Zero: 0.8.
	ServiceLevelTarget float64 `yaml:"service_level_target"`
}

func supervisorQueueFields(node yaml.Node) (map[string]supervisorQueue, error) {
	out := map[string]supervisorQueue{}
	if node.Kind == 0 {
		return out, nil
	}
	var qs []supervisorQueue
	if err := node.Decode(&qs); err != nil {
		return nil, fmt.Errorf("app: queues: %w", err)
	}
	for i, q := range qs {
		if q.ShortAbandonSeconds < 0 || q.ServiceLevelTarget < 0 || q.ServiceLevelTarget > 1 {
			return nil, fmt.Errorf("app: queues[%d]: short_abandon_seconds must be ≥ 0 and service_level_target between 0 and 1", i)
		}
		out[q.Name] = q
	}
	return out, nil
}

// Board pushes are spaced at least minPush apart (a burst of events makes
// one board, not hundreds) and sent at least every maxPush, so the
// 15-minute window and the chart move on a quiet day too.
const (
	minPush = 250 * time.Millisecond
	maxPush = 15 * time.Second
)

// pushBoards sends a fresh board to this gateway's supervisors whenever the
// folded figures change. Boards are built only while someone watches.
func pushBoards(ctx context.Context, svc *stats.Service, sup *supervisorBackend, view *agentui.Supervisor, log *slog.Logger) {
	idle := time.NewTicker(maxPush)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-svc.Changes():
		case <-idle.C:
		}
		if view.Watching() {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			b, err := sup.board(rctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("supervisor board", "err", err)
				}
			} else {
				view.PushBoard(b)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(minPush):
		}
	}
}

// supervisorBackend is agentui.SupervisorBackend on the stats service,
// routing and the conversation service.
type supervisorBackend struct {
	svc    *stats.Service
	view   *agentui.Supervisor
	engine *routing.Engine
	convs  *conversation.Service
	log    *slog.Logger

	// names caches customer names of waiting conversations: boards are
	// built up to four times a second and names do not change that often.
	mu    sync.Mutex
	names map[string]string
}

func (s *supervisorBackend) Board(ctx context.Context) (any, error) {
	return s.board(ctx)
}

// maxNames bounds the name cache; it is simply emptied when full.
const maxNames = 2000

// board is the folded board with the waiting customers' names.
func (s *supervisorBackend) board(ctx context.Context) (stats.Board, error) {
	b, err := s.svc.Board(ctx)
	if err != nil {
		return b, err
	}
	for qi := range b.Queues {
		for wi := range b.Queues[qi].WaitingNow {
			w := &b.Queues[qi].WaitingNow[wi]
			w.Customer = s.customerName(ctx, w.ID)
		}
	}
	for ai := range b.Agents {
		a := &b.Agents[ai]
		for _, id := range a.Conversations {
			if name := s.customerName(ctx, id); name != "" {
				if a.Customers == nil {
					a.Customers = map[string]string{}
				}
				a.Customers[id] = name
			}
		}
	}
	return b, nil
}

func (s *supervisorBackend) customerName(ctx context.Context, convID string) string {
	s.mu.Lock()
	name, ok := s.names[convID]
	s.mu.Unlock()
	if ok {
		return name
	}
	conv, err := s.convs.Conversation(ctx, convID)
	if err != nil {
		return "" // shown by id; a later board tries again
	}
	name = conv.CustomerAddress
	if cust, err := s.convs.Customer(ctx, conv.CustomerID); err == nil && cust.Name != "" {
		name = cust.Name
	}
	s.mu.Lock()
	if s.names == nil || len(s.names) >= maxNames {
		s.names = map[string]string{}
	}
	s.names[convID] = name
	s.mu.Unlock()
	return name
}

// Assign goes through the conversation service, so the transcript records
// the move like any transfer; routing offers it to the agent at once. An
// agent whose open offer was taken away is told so: the transfer event only
// makes the gateway send "unassigned", which concerns accepted
// conversations, and only supervisors move offered ones.
func (s *supervisorBackend) Assign(ctx context.Context, supervisorID, convID, agentID string) error {
	before, err := s.engine.Conversation(ctx, convID)
	if err != nil {
		return mapErr(err)
	}
	if _, err := s.convs.Transfer(ctx, conversation.TransferRequest{ConversationID: convID, ToAgentID: agentID}); err != nil {
		return mapErr(err)
	}
	if before.State == routing.ConvOffered && before.AgentID != "" && before.AgentID != agentID {
		if err := s.view.RevokeOffer(ctx, before.AgentID, convID); err != nil {
			// The offer then lingers on that console until its deadline,
			// when accepting it fails with offer_gone.
			s.log.Warn("supervisor assign: tell the previous agent", "conv", convID, "err", err)
		}
	}
	return nil
}

func (s *supervisorBackend) SetAgentState(ctx context.Context, supervisorID, agentID, state, reason string) error {
	var st routing.AgentState
	switch state {
	case agentui.StateAvailable:
		st = routing.StateAvailable
	case agentui.StateAway:
		st = routing.StateAway
	case agentui.StateOffline:
		st = routing.StateOffline
	default:
		return fmt.Errorf("%w: state %q", agentui.ErrInvalid, state)
	}
	return mapErr(s.engine.SetAgentState(ctx, agentID, st, reason))
}

// statsSource adapts routing.Engine to stats.Source.
type statsSource struct{ engine *routing.Engine }

func (s statsSource) Events(ctx context.Context, afterID string, count int) ([]stats.Event, error) {
	evs, err := s.engine.Events(ctx, afterID, count)
	if err != nil {
		return nil, err
	}
	out := make([]stats.Event, len(evs))
	for i, e := range evs {
		out[i] = statsEvent(e)
	}
	return out, nil
}

func (s statsSource) Subscribe(ctx context.Context) (<-chan stats.Event, error) {
	sub, err := s.engine.Subscribe(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan stats.Event, 1)
	go func() {
		defer close(out)
		for e := range sub.C {
			// Only a doorbell: the service reads the stream itself, so a
			// full bell loses nothing.
			select {
			case out <- stats.Event{ID: e.ID}:
			default:
			}
		}
	}()
	return out, nil
}

func (s statsSource) Agents(ctx context.Context) ([]stats.AgentLive, error) {
	as, err := s.engine.Agents(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]stats.AgentLive, len(as))
	for i, a := range as {
		out[i] = stats.AgentLive{ID: a.ID, Name: a.Name, State: string(a.State), Reason: a.Reason, Since: a.Since,
			Capacity: a.Capacity, Load: a.Load, Conversations: a.Conversations}
	}
	return out, nil
}

// statsEvent converts one routing event; a transfer names the queue it
// left as Queue and the new one as ToQueue, as the folder expects.
func statsEvent(e routing.Event) stats.Event {
	out := stats.Event{ID: e.ID, Type: stats.EventType(e.Type), ConversationID: e.ConversationID,
		Queue: e.Queue, Channel: e.Channel, AgentID: e.AgentID, At: e.At,
		EstimateLow: e.EstimateLow, EstimateHigh: e.EstimateHigh, Wait: e.Wait, Handle: e.Handle,
		State: string(e.State), Reason: e.Reason}
	switch e.Type {
	case routing.EventEnqueued:
		out.EnqueuedAt = e.EnqueuedAt
	case routing.EventTransferred:
		if e.FromQueue != "" {
			out.Queue = e.FromQueue
		}
		out.ToQueue = e.Queue
	}
	return out
}
