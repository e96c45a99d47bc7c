package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"log/slog"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/term"
	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/internal/realtime"
	"github.com/switchboard/switchboard/internal/recovery"
	"github.com/switchboard/switchboard/internal/roster"
	"github.com/switchboard/switchboard/internal/s3store"
	"github.com/switchboard/switchboard/internal/survey"
	"github.com/switchboard/switchboard/internal/webhook"
	"github.com/switchboard/switchboard/routing"
)

// wire builds the product's components on the store, in dependency order
// and without cycles: routing, the conversation service on it, the desk on
// both, the channels on the desk (each registered afterwards), then the
// console, the REST API and the supervisor view on the desk.
func (a *App) wire(ctx context.Context, reg *prometheus.Registry, channels []channelBuilder) error {
	cfg, rdb, e := a.cfg, a.store.Client, a.http.Echo

	queues, err := decodeQueues(cfg.File.Queues)
	if err != nil {
		return err
	}
	queueHours, err := decodeQueueHours(cfg.File.Queues, cfg.Location)
	if err != nil {
		return err
	}
	hub, err := realtime.New(realtime.Config{Redis: rdb, Workspace: cfg.Workspace, Logger: a.log, PublicURL: cfg.BaseURL(),
		MaxConns: cfg.MaxSockets, MaxMemoryBytes: uint64(cfg.MaxMemoryMB) << 20, MaxHandling: cfg.VisitorHandlers})
	if err != nil {
		return fmt.Errorf("app: realtime hub: %w", err)
	}
	a.http.OnShutdown(func(ctx context.Context) { _ = hub.Shutdown(ctx) })

	engine, err := routing.New(routing.Params{Client: rdb, Workspace: cfg.Workspace, Queues: queues, Logger: a.log})
	if err != nil {
		return fmt.Errorf("app: routing: %w", err)
	}
	authSvc, err := auth.New(auth.Config{Redis: rdb, Workspace: cfg.Workspace, TrustProxy: cfg.TrustProxy,
		MaxFailuresPerIP: cfg.LoginFailuresPerIP, SecureCookie: strings.HasPrefix(strings.ToLower(cfg.BaseURL()), "https://")})
	if err != nil {
		return fmt.Errorf("app: auth: %w", err)
	}
	if err := a.ensureAdmin(ctx, authSvc); err != nil {
		return err
	}
	if err := seedAgents(ctx, engine, cfg.File.Agents); err != nil {
		return err
	}

	var attachments conversation.AttachmentStore // nil: the data directory
	if cfg.AttachmentsURL != "" {
		s3, err := s3store.New(s3store.Config{URL: cfg.AttachmentsURL, AccessKey: cfg.AttachmentsAccessKey, SecretKey: cfg.AttachmentsSecretKey})
		if err != nil {
			return fmt.Errorf("app: %w", err)
		}
		attachments = s3
	}
	publisher := &agentui.Publisher{Hub: hub, Logger: a.log}
	var recCfg recovery.Config
	if err := decodeSection(cfg.File.Recovery, "recovery", &recCfg); err != nil {
		return err
	}
	recoveries, err := recovery.New(recovery.Params{Redis: rdb, Workspace: cfg.Workspace, Config: recCfg, Alerts: publisher, Logger: a.log})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	convs, err := conversation.New(conversation.Params{
		Redis: rdb, Workspace: cfg.Workspace, Router: desk.Router{Engine: engine, Recovery: recoveries},
		Attachments: attachments, DefaultQueue: engine.Queues()[0].Name, DataDir: cfg.DataDir, Logger: a.log,
		Outbox: conversation.OutboxConfig{Workers: cfg.File.Outbox.SendWorkers},
	})
	if err != nil {
		return fmt.Errorf("app: conversations: %w", err)
	}
	recoveries.SetTags(convs)
	surveys, err := buildSurveys(ctx, cfg, rdb, convs, recoveries, a.log)
	if err != nil {
		return err
	}
	promises, err := a.promises(rdb, desk.PromiseRouter{Engine: engine, Conversations: convs}, publisher)
	if err != nil {
		return err
	}
	theDesk, err := desk.New(desk.Params{
		Engine: engine, Conversations: convs, Auth: authSvc, Promises: promises,
		Consoles: publisher, Canned: canned(cfg.File.CannedReplies), Hours: queueHours,
		Surveys: surveys, Recovery: recoveries, Location: cfg.Location, Logger: a.log,
	})
	if err != nil {
		return fmt.Errorf("app: desk: %w", err)
	}
	convs.SetNotifier(theDesk)
	promises.OnBroken(theDesk.PromiseBroken)
	a.background = append(a.background, engine, convs, desk.Reactor{Desk: theDesk, Consumer: nodeName()}, promises)
	if !surveys.Off() {
		a.background = append(a.background, desk.Aftercare{Desk: theDesk, Consumer: nodeName()})
	}
	if err := reg.Register(promise.NewMetrics(promises)); err != nil {
		return fmt.Errorf("app: promise metrics: %w", err)
	}

	restAPI, err := api.New(api.Params{
		Service: convs, Desk: theDesk, Auth: authSvc.Middleware(auth.RoleAgent), Logger: a.log,
		Actor: func(c echo.Context) desk.Actor {
			p, _ := auth.PrincipalFrom(c)
			return actor(p)
		},
	})
	if err != nil {
		return fmt.Errorf("app: REST API: %w", err)
	}
	env := channelEnv{cfg: cfg, desk: theDesk, auth: authSvc, api: restAPI, convs: convs, hub: hub, rdb: rdb, queues: engine.Queues(), hours: queueHours,
		surveys: surveys, log: a.log}
	for _, b := range channels {
		ch, err := b.build(ctx, env, cfg.File.Channels[b.key])
		if err != nil {
			return fmt.Errorf("app: channels.%s: %w", b.key, err)
		}
		if ch == nil {
			continue
		}
		theDesk.AddChannel(ch)
		surveys.AddSender(ch.Name(), ch)
		ch.Register(e)
		a.background = append(a.background, ch)
	}

	ui, err := agentui.New(agentui.Config{
		Backend: agentui.NewDeskBackend(theDesk), Hub: hub, Logger: a.log,
		Authenticate: func(r *http.Request) (desk.Actor, error) {
			p, err := authSvc.Check(r)
			if errors.Is(err, auth.ErrUnauthenticated) {
				return desk.Actor{}, fmt.Errorf("%w: %w", agentui.ErrUnauthenticated, err)
			}
			if err != nil {
				return desk.Actor{}, err
			}
			return actor(p), nil
		},
	})
	if err != nil {
		return fmt.Errorf("app: console: %w", err)
	}
	ui.Register(e)
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/agent/") })

	v1 := e.Group("/api/v1")
	auth.NewHandler(authSvc).Register(v1)
	roster.NewHandler(roster.New(authSvc, engine), authSvc, a.log).Register(v1)
	restAPI.Register(v1)
	surveys.Register(e)
	a.background = append(a.background, surveys, recoveries)
	for _, m := range []prometheus.Collector{surveys.Metrics(), recoveries.Metrics()} {
		if err := reg.Register(m); err != nil {
			return fmt.Errorf("app: survey metrics: %w", err)
		}
	}

	hookMetrics := webhook.NewMetrics()
	hooks, err := webhook.New(webhook.Params{Redis: rdb, Workspace: cfg.Workspace, Routing: engine, Consumer: nodeName(),
		Conversations: convs, Promises: promises, Ratings: surveys, OnOutcome: hookMetrics.Observe, Logger: a.log})
	if err != nil {
		return fmt.Errorf("app: webhooks: %w", err)
	}
	hookMetrics.Attach(hooks)
	if err := reg.Register(hookMetrics); err != nil {
		return fmt.Errorf("app: webhook metrics: %w", err)
	}
	hooks.Register(v1, authSvc.Middleware(auth.RoleAdmin))
	a.background = append(a.background, hooks)

	return a.wireSupervisor(e, v1, supervisorParams{engine: engine, desk: theDesk, auth: authSvc, console: ui, reg: reg,
		surveys: surveys, recovery: recoveries, promises: promises})
}

// promises builds the promise service from the `promises:` section.
func (a *App) promises(rdb redis.UniversalClient, router promise.Router, consoles promise.Consoles) (*promise.Service, error) {
	var pc promise.Config
	if err := decodeSection(a.cfg.File.Promises, "promises", &pc); err != nil {
		return nil, err
	}
	p := promise.Params{Redis: rdb, Workspace: a.cfg.Workspace, Router: router, Consoles: consoles,
		Location: a.cfg.Location, Logger: a.log}
	if err := pc.Apply(&p); err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	svc, err := promise.New(p)
	if err != nil {
		return nil, fmt.Errorf("app: promises: %w", err)
	}
	return svc, nil
}

// buildSurveys builds the satisfaction survey from the `surveys:` section,
// with the email links' key shared by every gateway.
func buildSurveys(ctx context.Context, cfg *config.Config, rdb redis.UniversalClient, convs *conversation.Service,
	rater survey.Rater, log *slog.Logger) (*survey.Service, error) {
	var sc survey.Config
	if err := decodeSection(cfg.File.Surveys, "surveys", &sc); err != nil {
		return nil, err
	}
	secret, err := sharedSecret(ctx, rdb, survey.SecretKey(cfg.Workspace))
	if err != nil {
		return nil, err
	}
	svc, err := survey.New(survey.Params{Redis: rdb, Workspace: cfg.Workspace, Config: sc, Location: cfg.Location,
		Recorder: convs, Rater: rater, PublicURL: cfg.BaseURL(), Secret: secret, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return svc, nil
}

// decodeSection decodes an optional section of the configuration file.
func decodeSection(node yaml.Node, name string, into any) error {
	if err := decodeOptional(node, into); err != nil {
		return fmt.Errorf("app: %s: %w", name, err)
	}
	return nil
}

// decodeOptional decodes node into into unless the file left it out.
func decodeOptional(node yaml.Node, into any) error {
	if node.Kind == 0 {
		return nil
	}
	return node.Decode(into)
}

// actor is the desk's name for an authenticated principal.
func actor(p auth.Principal) desk.Actor {
	return desk.Actor{AccountID: p.AccountID, Name: p.Name, Role: p.Role, Token: p.Via == auth.ViaToken}
}

// canned converts the configuration's saved replies; none keeps the desk's.
func canned(list []config.CannedReply) []desk.Canned {
	if len(list) == 0 {
		return nil
	}
	out := make([]desk.Canned, 0, len(list))
	for _, c := range list {
		out = append(out, desk.Canned{Shortcut: c.Shortcut, Title: c.Title, Text: c.Text})
	}
	return out
}

// ensureAdmin creates the first admin. A generated password is never
// logged: it is shown once when out is a terminal (a person is watching),
// else written to a file only the gateway's user can read, whose path is
// logged, since out then carries the JSON log lines a collector ships.
func (a *App) ensureAdmin(ctx context.Context, svc *auth.Service) error {
	generated, err := svc.EnsureAdmin(ctx, a.cfg.AdminPassword)
	if err != nil || generated == "" {
		if err != nil {
			return fmt.Errorf("app: first admin: %w", err)
		}
		return nil
	}
	if f, ok := a.out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(a.out, "\n  First start: created the admin account.\n  Log in at %s/agent/ as \"admin\" with password: %s\n  (shown once; set SWITCHBOARD_ADMIN_PASSWORD to choose it)\n\n", a.cfg.BaseURL(), generated)
		return nil
	}
	path := filepath.Join(a.cfg.DataDir, adminPasswordFile)
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("app: first admin: %w", err)
	}
	if err := os.WriteFile(path, []byte(generated+"\n"), 0o600); err != nil {
		return fmt.Errorf("app: first admin: write the generated password: %w", err)
	}
	a.log.Warn("first start: created the admin account; its generated password is in a file only this user can read (delete it after the first login, or set SWITCHBOARD_ADMIN_PASSWORD)",
		"account", auth.AdminID, "password_file", path)
	return nil
}

// adminPasswordFile, in the data directory, holds a generated first admin
// password when no terminal is there to show it.
const adminPasswordFile = "admin-password"

func decodeQueues(node yaml.Node) ([]routing.QueueConfig, error) {
	var qs []routing.QueueConfig
	if err := decodeSection(node, "queues", &qs); err != nil {
		return nil, err
	}
	for i, q := range qs {
		if err := q.Validate(); err != nil {
			return nil, fmt.Errorf("app: queues[%d]: %w", i, err)
		}
	}
	return qs, nil
}

// decodeQueueHours reads each queue's business_hours (routing ignores the
// field), compiled in the workspace's zone.
func decodeQueueHours(node yaml.Node, loc *time.Location) (hours.Queues, error) {
	var qs []hours.QueueWeek
	if err := decodeSection(node, "queues", &qs); err != nil {
		return nil, err
	}
	hq, err := hours.CompileQueues(qs, loc)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return hq, nil
}

// seedAgents writes the configuration file's agents to routing.
func seedAgents(ctx context.Context, engine *routing.Engine, node yaml.Node) error {
	var agents []routing.AgentConfig
	if err := decodeSection(node, "agents", &agents); err != nil {
		return err
	}
	for i, ag := range agents {
		if err := ag.Validate(); err != nil {
			return fmt.Errorf("app: agents[%d]: %w", i, err)
		}
		if err := engine.UpsertAgent(ctx, ag); err != nil {
			return fmt.Errorf("app: agents[%d]: %w", i, err)
		}
	}
	return nil
}

// nodeName names this process in consumer groups: unique per process, and
// readable in XINFO output.
func nodeName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
