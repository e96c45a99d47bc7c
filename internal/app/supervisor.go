package app

import (
	"context"
	"fmt"
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
	view, err = agentui.NewSupervisor(agentui.SupervisorConfig{Backend: sup, Console: p.console, Changes: svc.Changes()})
	if err != nil {
		return fmt.Errorf("app: supervisor view: %w", err)
	}
	view.Register(e)
	v1.GET("/stats", echo.WrapHandler(svc.HistoryHandler()), p.auth.Middleware(auth.RoleSupervisor))
	a.background = append(a.background, svc, view)
	return nil
}

// supervisorQueueFields reads each queue's supervisor targets.
func supervisorQueueFields(node yaml.Node) (map[string]stats.QueueTargets, error) {
	var qs []stats.QueueTargets
	if err := decodeSection(node, "queues", &qs); err != nil {
		return nil, err
	}
	out := map[string]stats.QueueTargets{}
	for i, q := range qs {
		if err := q.Validate(); err != nil {
			return nil, fmt.Errorf("app: queues[%d]: %w", i, err)
		}
		out[q.Name] = q
	}
	return out, nil
}
