package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/channels/sms"
	"github.com/switchboard/switchboard/channels/webchat"
	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/realtime"
	"github.com/switchboard/switchboard/internal/twilioapi"
	"github.com/switchboard/switchboard/routing"
)

// chatFileConfig is the channels.chat section of the configuration file.
type chatFileConfig struct {
	// SiteName is shown in the widget's header. Zero: "Support".
	SiteName string `yaml:"site_name"`
	// AllowedOrigins may embed the widget; "*" allows any. Zero: only the
	// gateway's own origin.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxMessageLength in characters. Zero: 2000.
	MaxMessageLength int `yaml:"max_message_length"`
}

// wire builds the product's components on the store and registers their
// routes and background loops. The order follows the dependencies: the hub
// and routing first, channels last.
func (a *App) wire(ctx context.Context, reg *prometheus.Registry) error {
	cfg, rdb, e := a.cfg, a.store.Client, a.http.Echo

	queues, err := decodeQueues(cfg.File.Queues)
	if err != nil {
		return err
	}
	hub, err := realtime.New(realtime.Config{Redis: rdb, Workspace: cfg.Workspace, Logger: a.log})
	if err != nil {
		return fmt.Errorf("app: realtime hub: %w", err)
	}
	a.http.OnShutdown(func(ctx context.Context) { _ = hub.Shutdown(ctx) })

	engine, err := routing.New(routing.Params{Client: rdb, Workspace: cfg.Workspace, Queues: queues, Logger: a.log})
	if err != nil {
		return fmt.Errorf("app: routing: %w", err)
	}
	a.background = append(a.background, engine.Run)

	authSvc, err := auth.New(auth.Config{Redis: rdb, Workspace: cfg.Workspace, TrustProxy: cfg.TrustProxy})
	if err != nil {
		return fmt.Errorf("app: auth: %w", err)
	}
	if err := a.ensureAdmin(ctx, authSvc); err != nil {
		return err
	}
	if err := seedAgents(ctx, engine, cfg.File.Agents); err != nil {
		return err
	}

	defaultQueue := engine.Queues()[0].Name
	routes := map[string]conversation.Route{}
	var chatQueues []string
	for _, q := range engine.Queues() {
		// Web chat widgets name their queue (data-queue) as our address;
		// only queues that take chats may be named, so a page cannot put
		// its visitors in a queue that never serves them.
		if servesChannel(q, routing.ChannelChat) {
			routes[q.Name] = conversation.Route{Queue: q.Name}
			chatQueues = append(chatQueues, q.Name)
		}
	}
	if len(chatQueues) == 0 {
		return fmt.Errorf("app: queues: none takes the chat channel, yet web chat is always on")
	}
	senders := map[conversation.Channel]conversation.Sender{}
	recv := &receiverRef{}
	queueHours, err := decodeQueueHours(cfg.File.Queues, cfg.Location)
	if err != nil {
		return err
	}

	smsCh, err := a.smsChannel(cfg.File.Channels["sms"], recv, engine, defaultQueue, routes, queueHours)
	if err != nil {
		return err
	}
	if smsCh != nil {
		senders[conversation.ChannelSMS] = smsCh
	}

	var chatFile chatFileConfig
	if n, ok := cfg.File.Channels["chat"]; ok {
		if err := n.Decode(&chatFile); err != nil {
			return fmt.Errorf("app: channels.chat: %w", err)
		}
	}
	secret, err := sharedSecret(ctx, rdb, chatSecretKey(cfg.Workspace))
	if err != nil {
		return err
	}

	// The chat channel and the conversation service need each other (one
	// receives, the other sends); the references are filled in below.
	bridge := &chatBridge{engine: engine, hub: hub, hours: queueHours}
	chat, err := webchat.New(webchat.Config{
		SiteName: chatFile.SiteName, AllowedOrigins: chatFile.AllowedOrigins, MaxMessageLength: chatFile.MaxMessageLength,
		DefaultQueue: chatQueues[0], Queues: chatQueues, TokenSecret: secret, Logger: a.log,
	}, webchat.Deps{Hub: hub, Receiver: recv, Transcript: bridge, Queue: bridge, Typing: bridge, Contacts: bridge,
		Availability: bridge})
	if err != nil {
		return fmt.Errorf("app: web chat: %w", err)
	}
	senders[conversation.ChannelChat] = chat
	chat.Register(e)

	notifier := &transcriptNotifier{hub: hub, log: a.log}
	convs, err := conversation.New(conversation.Params{
		Redis: rdb, Workspace: cfg.Workspace, Router: conversationRouter{engine},
		Notifier: notifier, Senders: senders,
		Routes: routes, DefaultQueue: defaultQueue, DataDir: cfg.DataDir, Logger: a.log,
	})
	if err != nil {
		return fmt.Errorf("app: conversations: %w", err)
	}
	recv.svc, bridge.convs, notifier.convs = convs, convs, convs
	a.background = append(a.background, convs.Run)

	console := &consoleBackend{engine: engine, convs: convs, auth: authSvc, chat: chat, canned: newCanned(cfg.File.CannedReplies)}
	notifier.console, notifier.chat, bridge.console = console, chat, console
	ui, err := agentui.New(agentui.Config{
		Backend: console, Hub: hub, Logger: a.log,
		Authenticate: func(r *http.Request) (agentui.Principal, error) {
			p, err := authSvc.Check(r)
			if err != nil {
				return agentui.Principal{}, err
			}
			return agentui.Principal{AccountID: p.AccountID, Name: p.Name, Role: string(p.Role)}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("app: console: %w", err)
	}
	ui.Register(e)
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/agent/") })

	v1 := e.Group("/api/v1")
	auth.NewHandler(authSvc).Register(v1)
	restAPI, err := api.New(api.Params{
		Service: convs, Auth: authSvc.Middleware(auth.RoleAgent), Access: apiAccess{convs: convs, console: console}, Logger: a.log,
		Principal: func(c echo.Context) string {
			p, _ := auth.PrincipalFrom(c)
			return p.AccountID
		},
	})
	if err != nil {
		return fmt.Errorf("app: REST API: %w", err)
	}
	restAPI.Register(v1)

	// Supervisor view, stats history API and queue metrics (issue 7).
	if err := a.wireSupervisor(e, v1, supervisorParams{engine: engine, convs: convs, auth: authSvc, console: ui, reg: reg}); err != nil {
		return err
	}

	proj := &projector{engine: engine, convs: convs, hub: hub, console: console, chat: chat, log: a.log}
	a.background = append(a.background, func(ctx context.Context) error {
		return engine.Consume(ctx, routing.ConsumeParams{Group: "gateway", Consumer: nodeName(), Handle: proj.handle})
	})
	return nil
}

// servesChannel reports whether queue q takes conversations on channel ch
// (no channels listed means all).
func servesChannel(q routing.QueueConfig, ch string) bool {
	return len(q.Channels) == 0 || slices.Contains(q.Channels, ch)
}

// receiverRef lets a channel be built before the conversation service that
// receives its messages (the service needs the channel as its Sender).
type receiverRef struct{ svc *conversation.Service }

func (r *receiverRef) Receive(ctx context.Context, in conversation.Inbound) (conversation.Receipt, error) {
	return r.svc.Receive(ctx, in)
}

func (r *receiverRef) UpdateDelivery(ctx context.Context, st conversation.DeliveryStatus) error {
	return r.svc.UpdateDelivery(ctx, st)
}

// smsChannel builds the SMS channel when Twilio credentials are set, and
// routes its numbers' conversations to their queues.
func (a *App) smsChannel(node yaml.Node, recv *receiverRef, engine *routing.Engine, defaultQueue string, routes map[string]conversation.Route, queueHours hours.Queues) (*sms.Channel, error) {
	var sc sms.Config
	if node.Kind != 0 {
		if err := node.Decode(&sc); err != nil {
			return nil, fmt.Errorf("app: channels.sms: %w", err)
		}
	}
	sc.Credentials = twilioapi.Credentials{AccountSID: a.cfg.TwilioAccountSID, AuthToken: a.cfg.TwilioAuthToken}
	sc.PublicURL, sc.TrustProxy, sc.APIBaseURL = a.cfg.BaseURL(), a.cfg.TrustProxy, a.cfg.TwilioAPIBaseURL
	if sc.DefaultQueue == "" {
		sc.DefaultQueue = defaultQueue
	}
	if sc.BusinessHours != nil {
		a.log.Warn("channels.sms.business_hours is deprecated: set business_hours on the queues (read in the workspace time_zone); it still applies to queues without their own")
	}
	ch, err := sms.New(sc, sms.Deps{
		Receiver: recv, Status: recv, OptOuts: sms.NewRedisOptOuts(a.store.Client, a.cfg.Workspace),
		Estimator: estimator{engine}, Promises: promiseRecorder{engine: engine, convs: recv}, Hours: queueHours, Logger: a.log,
	})
	if errors.Is(err, sms.ErrDisabled) {
		a.log.Info("SMS channel off: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to turn it on")
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("app: SMS channel: %w", err)
	}
	for number, queue := range sc.Numbers {
		n, err := conversation.NormalizeAddress(conversation.ChannelSMS, number)
		if err != nil {
			return nil, fmt.Errorf("app: channels.sms.numbers: %q: %w", number, err)
		}
		routes[n] = conversation.Route{Queue: queue}
	}
	ch.Register(a.http.Echo)
	a.http.OnShutdown(func(ctx context.Context) { _ = ch.Close(ctx) })
	a.log.Info(ch.Describe())
	return ch, nil
}

// estimator gives channels routing's wait estimate for a queue, as the
// range they may tell customers and whether it rests on enough samples.
type estimator struct{ engine *routing.Engine }

func (s estimator) Estimate(ctx context.Context, queue string) (time.Duration, time.Duration, bool, error) {
	est, err := s.engine.Estimate(ctx, queue)
	if err != nil {
		return 0, 0, false, err
	}
	return est.Low, est.High, est.Enough, nil
}

// ensureAdmin creates the first admin; a generated password is printed
// once, on standard error, never logged.
func (a *App) ensureAdmin(ctx context.Context, svc *auth.Service) error {
	generated, err := svc.EnsureAdmin(ctx, a.cfg.AdminPassword)
	if err != nil {
		return fmt.Errorf("app: first admin: %w", err)
	}
	if generated != "" {
		fmt.Fprintf(a.out, "\n  First start: created the admin account.\n  Log in at %s/agent/ as \"admin\" with password: %s\n  (shown once; set SWITCHBOARD_ADMIN_PASSWORD to choose it)\n\n", a.cfg.BaseURL(), generated)
	}
	return nil
}

func decodeQueues(node yaml.Node) ([]routing.QueueConfig, error) {
	if node.Kind == 0 {
		return nil, nil
	}
	var qs []routing.QueueConfig
	if err := node.Decode(&qs); err != nil {
		return nil, fmt.Errorf("app: queues: %w", err)
	}
	for i, q := range qs {
		if err := q.Validate(); err != nil {
			return nil, fmt.Errorf("app: queues[%d]: %w", i, err)
		}
	}
	return qs, nil
}

// decodeQueueHours reads each queue's business_hours (routing ignores the
// field) in the workspace's zone; a queue without them is always open.
func decodeQueueHours(node yaml.Node, loc *time.Location) (hours.Queues, error) {
	out := hours.Queues{}
	if node.Kind == 0 {
		return out, nil
	}
	var qs []struct {
		Name          string      `yaml:"name"`
		BusinessHours *hours.Week `yaml:"business_hours"`
	}
	if err := node.Decode(&qs); err != nil {
		return nil, fmt.Errorf("app: queues: %w", err)
	}
	for i, q := range qs {
		s, err := hours.Compile(q.BusinessHours, loc)
		if err != nil {
			return nil, fmt.Errorf("app: queues[%d].business_hours: %w", i, err)
		}
		if s != nil {
			out[q.Name] = s
		}
	}
	return out, nil
}

// seedAgents writes the configuration file's agents to routing.
func seedAgents(ctx context.Context, engine *routing.Engine, node yaml.Node) error {
	if node.Kind == 0 {
		return nil
	}
	var agents []routing.AgentConfig
	if err := node.Decode(&agents); err != nil {
		return fmt.Errorf("app: agents: %w", err)
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
