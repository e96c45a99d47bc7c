package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twilio/twilio-go"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/twilioapi"
)

// Routes the channel serves; Twilio must be configured with PublicURL +
// these paths.
const (
	InboundPath = "/twilio/sms"
	StatusPath  = "/twilio/sms/status"
)

// ErrDisabled is returned by New when no Twilio credentials are configured.
// The wiring logs it and runs without SMS.
var ErrDisabled = fmt.Errorf("sms: channel off: %w", twilioapi.ErrNoCredentials)

// Deps are what New needs besides channel.Core.
type Deps struct {
	// OptOuts remembers STOP and START. Required; conversation.NewOptOuts
	// serves.
	OptOuts OptOuts
	// Hours gives each queue's business hours. Nil means only the
	// deprecated Config.BusinessHours, if set, applies.
	Hours hours.Source
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// HTTPClient carries REST calls to Twilio. Nil means a client with
	// twilioapi.DefaultTimeout.
	HTTPClient *http.Client
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Channel is the SMS channel, behind the channel contract.
type Channel struct {
	cfg       Config
	creds     twilioapi.Credentials
	rest      *twilio.RestClient
	validator *twilioapi.Validator
	core      channel.Core
	optOuts   OptOuts
	log       *slog.Logger
	now       func() time.Time

	numbers        map[string]string // normalized number → queue
	replies        map[string]replyTemplates
	hours          *hours.Schedule // deprecated channel-wide hours
	queueHours     hours.Source
	statusCallback string
	sending        *channel.SendSlots // messages with Twilio at once
	// ackRetryWait is the first pause before retrying an acknowledgement;
	// it doubles per attempt. Tests shorten it.
	ackRetryWait time.Duration

	// acks tracks acknowledgements being sent after their webhook was
	// answered; Close waits for them.
	mu       sync.Mutex // guards closed and acks.Add
	closed   bool
	acks     sync.WaitGroup
	ackCtx   context.Context
	stopAcks context.CancelFunc
}

var _ channel.Channel = (*Channel)(nil)

// New checks cfg and builds the channel on the core: inbound texts go to
// core.Receive, delivery reports to core.UpdateDelivery, and the first
// acknowledgement tells the core's honest estimate (core.Estimate) and
// records what it told (core.Told). It returns ErrDisabled when no
// credentials are configured, and a descriptive error (never containing
// the credentials) when something is misconfigured.
func New(cfg Config, core channel.Core, deps Deps) (*Channel, error) {
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
		return nil, fmt.Errorf("sms: %w", err)
	}
	if core == nil || deps.OptOuts == nil {
		return nil, errors.New("sms: the core and OptOuts are required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.DefaultQueue == "" {
		cfg.DefaultQueue = DefaultQueue
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.ReceiveTimeout <= 0 {
		cfg.ReceiveTimeout = DefaultReceiveTimeout
	}
	switch {
	case cfg.MaxSending == 0:
		cfg.MaxSending = DefaultMaxSending
	case cfg.MaxSending < 0 || cfg.MaxSending > 1024:
		return nil, fmt.Errorf("sms: max_sending %d: want 1 to 1024 (0 for %d)", cfg.MaxSending, DefaultMaxSending)
	}
	c := &Channel{
		cfg: cfg, creds: cfg.Credentials, rest: acct.Rest, validator: acct.Validator,
		core: core, optOuts: deps.OptOuts, queueHours: deps.Hours, log: deps.Logger, now: deps.Now,
		numbers:        map[string]string{},
		replies:        map[string]replyTemplates{},
		statusCallback: strings.TrimSuffix(cfg.PublicURL, "/") + StatusPath,
		ackRetryWait:   time.Second,
		sending:        channel.NewSendSlots(cfg.MaxSending, "messages with Twilio"),
	}
	for num, queue := range cfg.Numbers {
		n, err := channel.NormalizeNumber(num, true)
		if err != nil {
			return nil, fmt.Errorf("sms: numbers: %q: %w", num, err)
		}
		if queue == "" {
			return nil, fmt.Errorf("sms: numbers: %q maps to no queue", num)
		}
		c.numbers[n] = queue
	}
	if c.replies["*"], err = compileReply("*", cfg.Replies["*"]); err != nil {
		return nil, err
	}
	for queue, r := range cfg.Replies {
		if c.replies[queue], err = compileReply(queue, r); err != nil {
			return nil, err
		}
	}
	if c.hours, err = compileHours(cfg.BusinessHours); err != nil {
		return nil, err
	}
	// Acknowledgements outlive the webhook request that caused them, so
	// they hang off the channel's own lifetime, which Close ends.
	c.ackCtx, c.stopAcks = context.WithCancel(context.Background())
	return c, nil
}

// Describe is the log line the wiring prints when the channel starts.
func (c *Channel) Describe() string {
	return fmt.Sprintf("sms: channel on for %d configured number(s), default queue %q; Twilio must call %s%s and %s",
		len(c.numbers), c.cfg.DefaultQueue, strings.TrimSuffix(c.cfg.PublicURL, "/"), InboundPath, c.statusCallback)
}

// QueueFor is the queue texts to our number go to: its mapping, or the
// default queue. to may be in any form Config.Numbers accepts. The
// conversation service uses it to enqueue new SMS conversations.
func (c *Channel) QueueFor(to string) string {
	if n, err := channel.NormalizeNumber(to, true); err == nil {
		if q, ok := c.numbers[n]; ok {
			return q
		}
	}
	return c.cfg.DefaultQueue
}

// Name is channel.SMS.
func (c *Channel) Name() channel.Name { return channel.SMS }

// Addresses are the configured numbers (normalized) and their queues.
func (c *Channel) Addresses() []channel.Address {
	out := make([]channel.Address, 0, len(c.numbers))
	for n, q := range c.numbers {
		out = append(out, channel.Address{Value: n, Queue: q})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

// Register adds POST InboundPath and POST StatusPath, both behind the
// body limit and the Twilio signature check.
func (c *Channel) Register(r channel.Routes) {
	guard := c.validator.Middleware(c.cfg.BodyLimit)
	r.Add(http.MethodPost, InboundPath, c.handleInbound, guard)
	r.Add(http.MethodPost, StatusPath, c.handleStatus, guard)
}

// Run waits for ctx to end, then stops sending acknowledgements (Close),
// giving those under way a few seconds.
func (c *Channel) Run(ctx context.Context) error {
	<-ctx.Done()
	stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(stop); err != nil {
		c.log.Warn("sms: stop", "err", err)
	}
	return nil
}

// Close stops sending acknowledgements: it waits for those under way until
// ctx ends, then abandons the rest.
func (c *Channel) Close(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.acks.Wait(); close(done) }()
	select {
	case <-done:
		c.stopAcks()
		return nil
	case <-ctx.Done():
		c.stopAcks()
		<-done
		return fmt.Errorf("sms: close: acknowledgements abandoned: %w", ctx.Err())
	}
}

// background runs fn after the webhook has been answered, unless the
// channel is closing.
func (c *Channel) background(fn func(ctx context.Context)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.acks.Add(1)
	go func() {
		defer c.acks.Done()
		fn(c.ackCtx)
	}()
	return true
}
