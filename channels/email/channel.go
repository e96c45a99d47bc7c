package email

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/hours"
)

// Attachments keeps attachment files; the conversation service's
// StoreAttachment and OpenAttachment satisfy it.
type Attachments interface {
	StoreAttachment(ctx context.Context, name, contentType string, r io.Reader) (channel.Attachment, error)
	OpenAttachment(ctx context.Context, storedPath string) (io.ReadSeekCloser, conversation.AttachmentInfo, error)
}

// Deps are the collaborators New needs.
type Deps struct {
	// Core stores inbound mail, takes bounces and gives estimates. Required.
	Core channel.Core
	// Redis holds the channel's leases, checkpoints and mail views. Required.
	Redis redis.UniversalClient
	// Workspace is the hash tag of the channel's keys. Zero: "default".
	Workspace string
	// Attachments stores files of inbound mail and opens those of replies.
	// Nil: attachments are named in a note and not kept.
	Attachments Attachments
	// Authorize guards the console's routes (view.go): it returns nil when
	// the signed-in user may read the conversation, else an error that
	// becomes the response (echo.ErrUnauthorized, echo.ErrForbidden…). Nil:
	// the console routes are not registered.
	Authorize func(c echo.Context, conversationID string) error
	// Hours are the queues' business hours: outside them the
	// acknowledgement says when we open instead of a wait. Nil: always open.
	Hours hours.Source
	// Logger: nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// TLSConfig is the base TLS configuration (root CAs in tests). Nil:
	// the system's.
	TLSConfig *tls.Config
}

// Channel is the email channel; it implements channel.Channel.
type Channel struct {
	cfg   Config
	core  channel.Core
	rdb   redis.UniversalClient
	k     keys
	att   Attachments
	auth  func(c echo.Context, conversationID string) error
	log   *slog.Logger
	now   func() time.Time
	hours hours.Source
	tls   *tls.Config
	san   *Sanitizer
	boxes map[string]*Mailbox  // by lower-cased address
	smtp  map[string]*smtpPool // each mailbox's kept submission connections, by address

	// ackQueues hold each mailbox's acknowledgements waiting to be sent,
	// by address (acknowledgeApart).
	ackQueues map[string]*ackQueue

	// reconnect is the first pause after a failed IMAP session; it doubles
	// up to maxReconnect. Tests shorten them.
	reconnect, maxReconnect time.Duration

	mu     sync.Mutex
	status map[string]string // mailbox key → what its reader is doing, for logs and tests
}

var (
	_ channel.Channel = (*Channel)(nil)
)

// New checks the configuration, loads the passwords and builds the channel.
// Errors name the mailbox and field at fault, never a password.
func New(cfg Config, deps Deps) (*Channel, error) {
	if deps.Core == nil || deps.Redis == nil {
		return nil, errors.New("email: Core and Redis are required")
	}
	// check fills in defaults and secrets: on our own copy, never the
	// caller's slice (two channels built from one Config share nothing).
	cfg.Mailboxes = slices.Clone(cfg.Mailboxes)
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Workspace == "" {
		deps.Workspace = "default"
	}
	c := &Channel{
		cfg: cfg, core: deps.Core, rdb: deps.Redis, k: keys{ws: deps.Workspace}, att: deps.Attachments,
		auth: deps.Authorize, log: deps.Logger.With("channel", "email"), now: deps.Now, tls: deps.TLSConfig, hours: deps.Hours,
		san: NewSanitizer(), boxes: map[string]*Mailbox{}, smtp: map[string]*smtpPool{},
		reconnect: time.Second, maxReconnect: time.Minute, status: map[string]string{}, ackQueues: map[string]*ackQueue{},
	}
	for i := range c.cfg.Mailboxes {
		m := &c.cfg.Mailboxes[i]
		c.boxes[m.Address] = m
		c.smtp[m.Address] = newSMTPPool(m.SMTP.MaxConnections)
		c.ackQueues[m.Address] = newAckQueue(ackBacklog, ackAtOnce, c.sendQueued)
		if m.IMAP.TLS == TLSPlain || m.SMTP.TLS == TLSPlain {
			c.log.Warn("email: mailbox uses a plain connection: the password crosses the network in the clear; use it for a local test server only",
				"mailbox", m.Address, "imap_tls", m.IMAP.TLS, "smtp_tls", m.SMTP.TLS)
		}
	}
	return c, nil
}

// Name is channel.Email.
func (c *Channel) Name() channel.Name { return channel.Email }

// Addresses are the configured mailboxes and their queues.
func (c *Channel) Addresses() []channel.Address {
	out := make([]channel.Address, 0, len(c.cfg.Mailboxes))
	for _, m := range c.cfg.Mailboxes {
		out = append(out, channel.Address{Value: m.Address, Queue: m.Queue})
	}
	return out
}

// Run reads every mailbox until ctx ends. Each mailbox has its own reader,
// which holds the mailbox's lease while it reads and gives it up on return.
// Then it drops the acknowledgements still queued (logged), waits for those
// under way (each ends within ackTimeout of its mail) and closes the
// submission connections kept between mails; a mail sent later opens its
// own. A mail whose acknowledgement was dropped so gets none, as one whose
// acknowledgement was under way when a gateway died.
func (c *Channel) Run(ctx context.Context) error {
	defer func() {
		for _, m := range c.cfg.Mailboxes {
			if dropped := c.ackQueues[m.Address].drop(); len(dropped) > 0 {
				ids := make([]string, len(dropped))
				for i, j := range dropped {
					ids[i] = j.ack.convID
				}
				c.log.WarnContext(ctx, "email: acknowledgements dropped: the gateway is stopping", "mailbox", m.Address,
					"count", len(ids), "conversations", ids)
			}
		}
		for _, q := range c.ackQueues {
			q.wait()
		}
		for _, p := range c.smtp {
			p.close()
		}
	}()
	var wg sync.WaitGroup
	for i := range c.cfg.Mailboxes {
		m := &c.cfg.Mailboxes[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.readMailbox(ctx, m)
		}()
	}
	wg.Wait()
	return nil
}

func (c *Channel) setStatus(m *Mailbox, s string) {
	c.mu.Lock()
	c.status[m.key()] = s
	c.mu.Unlock()
}

// Status says what the reader of the mailbox at address is doing
// ("reading", "idle", "standby: another gateway holds the lease",
// "reconnecting: …"); for health pages and tests.
func (c *Channel) Status(address string) string {
	m := c.boxes[strings.ToLower(address)]
	if m == nil {
		return "unknown mailbox"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status[m.key()]
}

// mailboxFor finds the conversation key of a per-conversation reply
// address (local+key@domain of the reader's mailbox) among the mail's
// recipients; empty when the mail was written to the plain address.
func replyKey(m *Message, mb *Mailbox) string {
	if !mb.ReplyAddress {
		return ""
	}
	var cands []string
	for _, a := range append(append([]*mail.Address{}, m.To...), m.Cc...) {
		cands = append(cands, a.Address)
	}
	cands = append(cands, m.DeliveredTo...)
	local0, domain0, _ := strings.Cut(mb.Address, "@")
	for _, a := range cands {
		local, domain, ok := strings.Cut(strings.ToLower(a), "@")
		if !ok || domain != domain0 {
			continue
		}
		base, key, ok := strings.Cut(local, mb.PlusSeparator)
		if ok && base == local0 && key != "" && !strings.ContainsAny(key, " \t") {
			return key
		}
	}
	return ""
}
