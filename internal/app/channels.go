package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/channels/email"
	"github.com/switchboard/switchboard/channels/sms"
	"github.com/switchboard/switchboard/channels/voice"
	"github.com/switchboard/switchboard/channels/webchat"
	"github.com/switchboard/switchboard/internal/api"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/realtime"
	"github.com/switchboard/switchboard/internal/survey"
	"github.com/switchboard/switchboard/routing"
)

// channelEnv is what every channel constructor may draw on: the core it
// is built on, and the shared parts of the gateway.
type channelEnv struct {
	cfg    *config.Config
	desk   *desk.Desk
	auth   *auth.Service
	api    *api.Handler // guards channels' console routes as the API does
	convs  *conversation.Service
	hub    *realtime.Hub
	rdb    redis.UniversalClient
	queues []routing.QueueConfig
	hours  hours.Queues // business hours per queue, in the workspace zone
	// surveys takes web chat's ratings.
	surveys *survey.Service
	log     *slog.Logger
}

// channelBuilder builds one channel from its section of the configuration
// file (channels.<key>); nil, nil means the channel is off.
type channelBuilder struct {
	key   string
	build func(ctx context.Context, env channelEnv, node yaml.Node) (channel.Channel, error)
}

// channelList is the one list of channels. Adding a channel is a package
// under channels/ and one line here; the wiring registers each channel's
// routes, addresses, sender, observer and background work alike.
var channelList = []channelBuilder{
	{"sms", buildSMS},
	{"chat", buildChat},
	{"email", buildEmail},
	{"voice", buildVoice},
}

// buildSMS is the SMS channel when Twilio credentials are set.
func buildSMS(_ context.Context, env channelEnv, node yaml.Node) (channel.Channel, error) {
	var sc sms.Config
	if err := decodeOptional(node, &sc); err != nil {
		return nil, err
	}
	sc.Credentials.AccountSID, sc.Credentials.AuthToken = env.cfg.TwilioAccountSID, env.cfg.TwilioAuthToken
	sc.PublicURL, sc.TrustProxy, sc.APIBaseURL = env.cfg.BaseURL(), env.cfg.TrustProxy, env.cfg.TwilioAPIBaseURL
	if sc.DefaultQueue == "" {
		sc.DefaultQueue = env.queues[0].Name
	}
	if sc.BusinessHours != nil {
		env.log.Warn("channels.sms.business_hours is deprecated: set business_hours on the queues (read in the workspace time_zone); it still applies to queues without their own")
	}
	ch, err := sms.New(sc, env.desk, sms.Deps{OptOuts: conversation.NewOptOuts(env.rdb, env.cfg.Workspace), Hours: env.hours, Logger: env.log})
	if errors.Is(err, sms.ErrDisabled) {
		env.log.Info("SMS channel off: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to turn it on")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	env.log.Info(ch.Describe())
	return ch, nil
}

// buildChat is the web chat channel; it is always on. Widgets name their
// queue (data-queue) as our address; only queues that take chats may be
// named, so a page cannot put its visitors in a queue that never serves them.
func buildChat(ctx context.Context, env channelEnv, node yaml.Node) (channel.Channel, error) {
	var cc webchat.Config
	if err := decodeOptional(node, &cc); err != nil {
		return nil, err
	}
	for _, q := range env.queues {
		if q.Serves(string(channel.Chat)) {
			cc.Queues = append(cc.Queues, q.Name)
		}
	}
	if len(cc.Queues) == 0 {
		return nil, fmt.Errorf("no queue takes the chat channel, yet web chat is always on")
	}
	secret, err := sharedSecret(ctx, env.rdb, chatSecretKey(env.cfg.Workspace))
	if err != nil {
		return nil, err
	}
	cc.DefaultQueue, cc.TokenSecret, cc.Logger = cc.Queues[0], secret, env.log
	return webchat.New(cc, env.desk, webchat.Deps{Hub: env.hub, Visitors: env.desk, Places: env.desk, Typing: env.desk,
		Contacts: env.desk, Availability: env.desk, Ratings: env.surveys, Files: env.convs})
}

// buildEmail is the email channel when mailboxes are configured. Its
// console routes (the sanitized mail, the raw message) answer only an
// agent the desk lets see the conversation.
func buildEmail(_ context.Context, env channelEnv, node yaml.Node) (channel.Channel, error) {
	var ec email.Config
	if err := decodeOptional(node, &ec); err != nil {
		return nil, err
	}
	if len(ec.Mailboxes) == 0 {
		env.log.Info("email channel off: configure channels.email.mailboxes to turn it on")
		return nil, nil
	}
	return email.New(ec, email.Deps{Core: env.desk, Redis: env.rdb, Workspace: env.cfg.Workspace, Hours: env.hours,
		Attachments: env.convs, Authorize: env.api.MaySee, Logger: env.log})
}

// buildVoice is the voice channel when Twilio credentials are set.
// Wrap-up after a call is the voice queues' wrap_up_seconds; the console's
// softphone token names the signed-in agent.
func buildVoice(_ context.Context, env channelEnv, node yaml.Node) (channel.Channel, error) {
	var vc voice.Config
	if err := decodeOptional(node, &vc); err != nil {
		return nil, err
	}
	vc.Credentials.AccountSID, vc.Credentials.AuthToken = env.cfg.TwilioAccountSID, env.cfg.TwilioAuthToken
	vc.PublicURL, vc.TrustProxy, vc.APIBaseURL = env.cfg.BaseURL(), env.cfg.TrustProxy, env.cfg.TwilioAPIBaseURL
	vc.APIKeySID, vc.APIKeySecret = env.cfg.TwilioAPIKeySID, env.cfg.TwilioAPIKeySecret
	if vc.DefaultQueue == "" {
		vc.DefaultQueue = env.queues[0].Name
	}
	for _, q := range env.queues {
		if q.Name == vc.DefaultQueue && q.WrapUpSeconds > 0 {
			vc.WrapUp = time.Duration(q.WrapUpSeconds) * time.Second
		}
	}
	ch, err := voice.New(vc, voice.Deps{Core: env.desk, Redis: env.rdb, Workspace: env.cfg.Workspace, Hours: env.hours, Logger: env.log,
		Authenticate: func(r *http.Request) (string, error) {
			p, err := env.auth.Check(r)
			return p.AccountID, err
		}})
	if errors.Is(err, voice.ErrDisabled) {
		env.log.Info("voice channel off: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to turn it on")
		return nil, nil
	}
	return ch, err
}
