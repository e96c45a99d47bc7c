package webchat

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Defaults applied to zero fields of Config.
const (
	DefaultSiteName         = "Support"
	DefaultQueue            = "default"
	DefaultMaxMessageLength = 2000
	DefaultTokenMaxAge      = 180 * 24 * time.Hour
	DefaultHelloTimeout     = 10 * time.Second
	DefaultPositionEvery    = 200 * time.Millisecond
)

// Config configures the web chat channel. Every zero field takes the default
// named in its comment, except TokenSecret, which is required.
type Config struct {
	// SiteName is shown in the widget's header, e.g. "Acme". Zero: "Support".
	SiteName string `yaml:"site_name"`
	// AllowedOrigins lists the origins ("https://www.example.com") of the
	// pages that may embed the widget and open /chat/ws. The gateway's own
	// origin is always allowed. A single "*" allows every origin: safe from
	// cross-site hijacking because the socket carries no cookie, only the
	// visitor token the page itself holds, but it lets any site put your
	// chat on its pages. Zero: only the gateway's own origin.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxMessageLength is the longest customer message, in characters
	// (Unicode code points). Longer ones are refused with a reason shown to
	// the customer. Zero: 2000. The hub's ReadLimit (64 KiB by default)
	// still bounds a whole frame; the widget sends UTF-8, at most 4 bytes a
	// character, so keep 4×MaxMessageLength well under it.
	MaxMessageLength int `yaml:"max_message_length"`
	// DefaultQueue is the queue (Inbound.To) for a widget without
	// data-queue, or whose data-queue is not listed in Queues. Zero: "default".
	DefaultQueue string `yaml:"-"`
	// Queues lists the data-queue values a widget may name. Zero: any name
	// of 1 to 64 letters, digits, "-" and "_"; the conversation service's
	// routes decide where an unknown one goes.
	Queues []string `yaml:"-"`
	// TokenSecret signs visitor tokens (HMAC-SHA256), at least 32 bytes.
	// Required. Changing it makes every visitor a new customer.
	TokenSecret []byte `yaml:"-"`
	// TokenMaxAge is how long a visitor token stays valid. Each connection
	// receives a freshly issued token, so only visitors away for longer are
	// forgotten. Zero: 180 days.
	TokenMaxAge time.Duration `yaml:"-"`
	// HelloTimeout is how long a new socket may stay silent before its
	// hello; then it is closed with 4401. Zero: 10 s.
	HelloTimeout time.Duration `yaml:"-"`
	// PositionEvery is the shortest time between two computations of one
	// queue's places on this gateway: changes arriving faster are folded
	// into the next computation. Places are only computed when the queue
	// moves (Server.QueueChanged), never on a timer. Zero: 200 ms.
	PositionEvery time.Duration `yaml:"-"`
	// Logger receives errors nobody else can act on. Nil discards them.
	Logger *slog.Logger `yaml:"-"`
	// Now is the clock. Nil: time.Now.
	Now func() time.Time `yaml:"-"`
}

func (c Config) withDefaults() (Config, error) {
	if c.SiteName == "" {
		c.SiteName = DefaultSiteName
	}
	if c.DefaultQueue == "" {
		c.DefaultQueue = DefaultQueue
	}
	if !validQueue(c.DefaultQueue) {
		return c, fmt.Errorf("webchat: default queue %q: use 1 to 64 letters, digits, - and _", c.DefaultQueue)
	}
	for _, q := range c.Queues {
		if !validQueue(q) {
			return c, fmt.Errorf("webchat: queue %q: use 1 to 64 letters, digits, - and _", q)
		}
	}
	if c.MaxMessageLength <= 0 {
		c.MaxMessageLength = DefaultMaxMessageLength
	}
	if c.TokenMaxAge <= 0 {
		c.TokenMaxAge = DefaultTokenMaxAge
	}
	if c.HelloTimeout <= 0 {
		c.HelloTimeout = DefaultHelloTimeout
	}
	if c.PositionEvery <= 0 {
		c.PositionEvery = DefaultPositionEvery
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	for i, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return c, fmt.Errorf("webchat: allowed origin %q: want scheme://host[:port] or *", o)
		}
		c.AllowedOrigins[i] = strings.ToLower(u.Scheme + "://" + u.Host)
	}
	return c, nil
}

func validQueue(q string) bool {
	if q == "" || len(q) > 64 {
		return false
	}
	for _, r := range q {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
