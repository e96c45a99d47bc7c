package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/internal/recovery"
	"github.com/switchboard/switchboard/internal/stats"
	"github.com/switchboard/switchboard/internal/survey"
	"github.com/switchboard/switchboard/routing"
)

// supervisorParams is what wireSupervisor needs from the rest of the wiring.
type supervisorParams struct {
	engine   *routing.Engine
	desk     *desk.Desk
	auth     *auth.Service
	console  *agentui.Handler
	reg      *prometheus.Registry
	surveys  *survey.Service
	recovery *recovery.Service
	// promises' figures join the stats history API.
	promises *promise.Service
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
	sup := &desk.Supervision{Desk: p.desk, Surveys: p.surveys, Recovery: p.recovery}
	// The view is built on the stats service and hears its alerts; Run
	// raises alerts only after the wiring is done.
	var view *agentui.Supervisor
	svc, err := stats.New(stats.Config{
		Source: desk.StatsSource{Engine: p.engine}, Queues: queues, Logger: a.log, Observe: metrics.Observe, Location: a.cfg.Location,
		Extra: map[string]func(context.Context, time.Time, time.Time) (any, error){
			"promises": func(ctx context.Context, from, to time.Time) (any, error) { return p.promises.Figures(ctx, from, to) },
		},
		Reports: map[string]http.Handler{"csat": p.surveys.FiguresHandler()},
		OnAlert: func(al stats.Alert, raised bool) {
			// Alerts are events of this gateway: every gateway folds the
			// same stream and raises the same alert, so each tells only
			// its own supervisors (and its log), nothing is published.
			if raised {
				a.log.Warn("supervisor alert", "kind", al.Kind, "queue", al.Queue, "channel", al.Channel, "agent", al.AgentID, "message", al.Message)
			} else {
				a.log.Info("supervisor alert cleared", "kind", al.Kind, "queue", al.Queue, "channel", al.Channel, "agent", al.AgentID)
			}
			if view != nil {
				view.PushAlert(al, raised)
			}
		},
	})
	if err != nil {
		return fmt.Errorf("app: stats: %w", err)
	}
	metrics.Attach(svc)
	metrics.SetConsumerLags(func(ctx context.Context) ([]stats.ConsumerLag, error) {
		groups, err := p.engine.ConsumerLags(ctx)
		out := make([]stats.ConsumerLag, len(groups))
		for i, g := range groups {
			out[i] = stats.ConsumerLag{Group: g.Group, Lag: g.Lag, Pending: g.Pending}
		}
		return out, err
	})
	if err := p.reg.Register(metrics); err != nil {
		return fmt.Errorf("app: stats metrics: %w", err)
	}
	sup.Stats = svc
	view, err = agentui.NewSupervisor(agentui.SupervisorConfig{Backend: sup, Console: p.console})
	if err != nil {
		return fmt.Errorf("app: supervisor view: %w", err)
	}
	view.Register(e)
	v1.GET("/stats", echo.WrapHandler(svc.HistoryHandler()), p.auth.Middleware(auth.RoleSupervisor))
	a.background = append(a.background, svc, boardPusher{svc: svc, sup: sup, view: view, log: a.log})
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

// boardPusher sends a fresh board to this gateway's supervisors whenever
// the folded figures change. Boards are built only while someone watches.
type boardPusher struct {
	svc  *stats.Service
	sup  *desk.Supervision
	view *agentui.Supervisor
	log  *slog.Logger
}

// Run pushes boards until ctx ends.
func (p boardPusher) Run(ctx context.Context) error {
	svc, sup, view, log := p.svc, p.sup, p.view, p.log
	idle := time.NewTicker(maxPush)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-svc.Changes():
		case <-idle.C:
		}
		if view.Watching() {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			b, err := sup.Board(rctx)
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
			return nil
		case <-time.After(minPush):
		}
	}
}
