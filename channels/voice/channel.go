package voice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twilio/twilio-go"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/twilioapi"
)

// Routes the channel serves. Twilio must be configured with PublicURL +
// InboundPath (voice webhook) and + StatusPath (call status callback); the
// others are named in our own TwiML.
const (
	InboundPath       = "/twilio/voice"
	StatusPath        = "/twilio/voice/status"
	WaitPath          = "/twilio/voice/wait"
	QueueResultPath   = "/twilio/voice/queue"
	PressPath         = "/twilio/voice/press"
	ConnectPath       = "/twilio/voice/connect"
	DialedPath        = "/twilio/voice/dialed"
	LegPath           = "/twilio/voice/leg"
	CallbackAgentPath = "/twilio/voice/callback/agent"
	CallbackDialPath  = "/twilio/voice/callback/dialed"
	VoicemailPath     = "/twilio/voice/voicemail"
	RecordingPath     = "/twilio/voice/recording"
	TranscriptionPath = "/twilio/voice/transcription"
	// TokenPath serves the console's softphone an access token; it needs a
	// signed-in agent.
	TokenPath = "/agent/voice/token"
)

// ErrDisabled is returned by New when no Twilio credentials are configured.
// The wiring logs it and runs without voice.
var ErrDisabled = fmt.Errorf("voice: channel off: %w", twilioapi.ErrNoCredentials)

// Phones says which agents take calls on a phone number instead of the
// console's softphone.
type Phones interface {
	// Phone is the E.164 number agentID's calls ring, or "" for the
	// softphone.
	Phone(ctx context.Context, agentID string) (string, error)
}

// Deps are the collaborators New needs.
type Deps struct {
	// Core stores calls, voicemail and call events, and places callers in
	// line. Required.
	Core channel.Core
	// Redis and Workspace hold the channel's own state (sb:{ws}:voice:…).
	// Required.
	Redis     redis.UniversalClient
	Workspace string
	// Authenticate names the signed-in agent of a console request (session
	// cookie), or errs. Required for the token endpoint; nil answers 503.
	Authenticate func(*http.Request) (agentID string, err error)
	// Hours are the queues' business hours (shared by every channel;
	// outside them a caller leaves a voicemail). Nil: always open.
	Hours hours.Source
	// Phones says which agents answer on a phone. Nil: Config.AgentNumbers.
	Phones Phones
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// HTTPClient carries REST calls to Twilio. Nil: twilioapi.DefaultTimeout.
	HTTPClient *http.Client
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Channel is the voice channel. It implements channel.Channel and
// channel.Observer.
type Channel struct {
	cfg       Config
	creds     twilioapi.Credentials
	rest      *twilio.RestClient
	validator *twilioapi.Validator
	core      channel.Core
	calls     calls
	hours     hours.Source
	phones    Phones
	tokens    *Tokens
	log       *slog.Logger
	now       func() time.Time
	base      string
	numbers   map[string]string // normalized number → queue

	// pollEvery is how often Run looks for due callbacks; tests shorten it.
	pollEvery time.Duration
}

var (
	_ channel.Channel  = (*Channel)(nil)
	_ channel.Observer = (*Channel)(nil)
)

// New checks cfg and builds the channel. It returns ErrDisabled when no
// credentials are configured, and a descriptive error (never containing
// the credentials) when something is misconfigured.
func New(cfg Config, deps Deps) (*Channel, error) {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	acct, err := twilioapi.OpenAccount(twilioapi.AccountOptions{
		Credentials: cfg.Credentials, PublicURL: cfg.PublicURL, TrustProxy: cfg.TrustProxy, Logger: deps.Logger,
		BaseURL: cfg.APIBaseURL, HTTPClient: deps.HTTPClient,
	})
	if errors.Is(err, twilioapi.ErrNoCredentials) {
		return nil, ErrDisabled
	} else if err != nil {
		return nil, fmt.Errorf("voice: %w", err)
	}
	if deps.Core == nil || deps.Redis == nil || deps.Workspace == "" {
		return nil, errors.New("voice: Core, Redis and Workspace are required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	cfg.applyDefaults()
	if cfg.HoldMusic != "" {
		if u, err := url.Parse(cfg.HoldMusic); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
			return nil, fmt.Errorf("voice: hold_music %q is not an absolute http(s) URL", cfg.HoldMusic)
		}
	}
	tokens, err := NewTokens(TokenConfig{AccountSID: cfg.Credentials.AccountSID, APIKeySID: cfg.APIKeySID,
		APIKeySecret: cfg.APIKeySecret, TTL: cfg.TokenTTL, WrapUp: cfg.WrapUp, Authenticate: deps.Authenticate, Now: deps.Now})
	if err != nil {
		return nil, err
	}
	c := &Channel{
		cfg: cfg, creds: cfg.Credentials, rest: acct.Rest, validator: acct.Validator, core: deps.Core,
		calls: calls{rdb: deps.Redis, ws: deps.Workspace}, hours: deps.Hours, phones: deps.Phones,
		tokens: tokens, log: deps.Logger, now: deps.Now,
		base: strings.TrimSuffix(cfg.PublicURL, "/"), numbers: map[string]string{}, pollEvery: time.Second,
	}
	for num, queue := range cfg.Numbers {
		n, err := channel.NormalizeNumber(num, false)
		if err != nil {
			return nil, fmt.Errorf("voice: numbers: %w", err)
		}
		if queue == "" {
			return nil, fmt.Errorf("voice: numbers: %q maps to no queue", num)
		}
		c.numbers[n] = queue
	}
	if c.hours == nil {
		c.hours = hours.Queues{}
	}
	if c.phones == nil {
		ph := configPhones{}
		for agent, num := range cfg.AgentNumbers {
			n, err := channel.NormalizeNumber(num, false)
			if err != nil {
				return nil, fmt.Errorf("voice: agent_numbers.%s: %w", agent, err)
			}
			ph[agent] = n
		}
		c.phones = ph
	}
	return c, nil
}

// configPhones is Phones from Config.AgentNumbers.
type configPhones map[string]string

func (p configPhones) Phone(_ context.Context, agentID string) (string, error) {
	return p[agentID], nil
}

// Name implements channel.Channel.
func (c *Channel) Name() channel.Name { return channel.Voice }

// Describe is the log line the wiring prints when the channel starts.
func (c *Channel) Describe() string {
	return fmt.Sprintf("voice: channel on for %d configured number(s), default queue %q; Twilio must call %s%s (voice) and %s%s (status)",
		len(c.numbers), c.cfg.DefaultQueue, c.base, InboundPath, c.base, StatusPath)
}

// Addresses implements channel.Channel: our numbers and their queues.
func (c *Channel) Addresses() []channel.Address {
	out := make([]channel.Address, 0, len(c.numbers))
	for n, q := range c.numbers {
		out = append(out, channel.Address{Value: n, Queue: q})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

// QueueFor is the queue calls to our number go to.
func (c *Channel) QueueFor(to string) string {
	if n, err := channel.NormalizeNumber(to, false); err == nil {
		if q, ok := c.numbers[n]; ok {
			return q
		}
	}
	return c.cfg.DefaultQueue
}

// Send implements channel.Channel. A call is answered by voice, so there
// is nothing to send: an agent who wants to write to a caller uses SMS.
func (c *Channel) Send(context.Context, channel.Outbound) (channel.SendResult, error) {
	return channel.SendResult{}, &channel.PermanentError{Code: "voice",
		Message: "a call is answered by voice; to write to the caller, reply by SMS"}
}

// Register implements channel.Channel: the Twilio webhooks, behind the body
// limit and the signature check, and the softphone token endpoint.
func (c *Channel) Register(r channel.Routes) {
	guard := c.validator.Middleware(c.cfg.BodyLimit)
	for path, h := range map[string]func(*webhook) (string, error){
		InboundPath: c.incoming, StatusPath: c.status, WaitPath: c.wait, QueueResultPath: c.queueResult,
		PressPath: c.press, ConnectPath: c.connect, DialedPath: c.dialed, LegPath: c.leg,
		CallbackAgentPath: c.callbackAgent, CallbackDialPath: c.callbackDialed,
		VoicemailPath: c.voicemailDone, RecordingPath: c.recording, TranscriptionPath: c.transcription,
	} {
		r.Add(http.MethodPost, path, c.serve(h), guard)
	}
	c.tokens.Register(r)
}

// Run implements channel.Channel: it places due callbacks until ctx ends.
func (c *Channel) Run(ctx context.Context) error {
	t := time.NewTicker(c.pollEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			c.placeDueCallbacks(ctx)
		}
	}
}

// url is an absolute URL of ours with query parameters; Twilio signs the
// query along with the path, so nobody can forge them.
func (c *Channel) url(path string, kv ...string) string {
	if len(kv) == 0 {
		return c.base + path
	}
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return c.base + path + "?" + q.Encode()
}
