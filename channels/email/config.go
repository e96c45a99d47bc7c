package email

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"time"
)

// TLSMode is how a connection to a mail server is secured.
type TLSMode string

// The TLS modes. Plain sends the password in the clear and is for a server
// on the same host in tests; New logs a warning for every mailbox using it.
const (
	TLSImplicit TLSMode = "implicit" // TLS from the first byte (IMAPS 993, SMTPS 465)
	TLSStartTLS TLSMode = "starttls" // upgrade after connecting (IMAP 143, submission 587)
	TLSPlain    TLSMode = "plain"    // no TLS: local testing only
)

// Defaults for zero Config fields.
const (
	DefaultFolder       = "INBOX"
	DefaultPollInterval = 30 * time.Second
	DefaultLeaseTTL     = 10 * time.Second
	DefaultAckPerHour   = 3
	// DefaultMaxConnections bounds a mailbox's SMTP connections at once on
	// one gateway (N gateways may hold N times as many). Providers limit
	// how many one account may hold open and refuse (or throttle) a client
	// past it; a handful is safe. Before connections were kept, a mailbox
	// had at most about five open per gateway.
	DefaultMaxConnections = 4
)

// Config is the email channel's configuration: the channels.email section.
type Config struct {
	// Mailboxes are read and answered independently, each into its queue.
	Mailboxes []Mailbox `yaml:"mailboxes"`
	// AutoAck sends one acknowledgement per new conversation with a
	// reference and an honest estimate. Nil: on.
	AutoAck *bool `yaml:"auto_ack"`
	// AckPerHour caps automatic answers per sender per hour (a loop with a
	// robot that slipped past every header check ends there). Zero: 3.
	AckPerHour int `yaml:"ack_per_hour"`
	// LeaseTTL is how long a dead gateway keeps a mailbox; another takes it
	// over within this time. Zero: 10s.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// Limits bound the size of what is parsed and kept.
	Limits Limits `yaml:"limits"`
}

// Mailbox is one support address: where mail is read and how replies go out.
type Mailbox struct {
	// Address is our address customers write to (support@example.com). It
	// is the Inbound's To and the From of replies. Required.
	Address string `yaml:"address"`
	// Name is the display name of replies ("Example Support"). Zero: none.
	Name string `yaml:"name"`
	// Queue takes this mailbox's conversations. Zero: the default queue.
	Queue string `yaml:"queue"`
	// ReplyAddress turns on the per-conversation reply address: replies
	// carry Reply-To local+<conversation>@domain, a second threading key
	// for clients that rewrite References. The server must deliver
	// plus-addressed mail to this mailbox. Zero: off.
	ReplyAddress bool `yaml:"reply_address"`
	// PlusSeparator separates the local part from the key. Zero: "+".
	PlusSeparator string `yaml:"plus_separator"`
	IMAP          IMAP   `yaml:"imap"`
	SMTP          SMTP   `yaml:"smtp"`
}

// IMAP is where a mailbox is read.
type IMAP struct {
	Host string `yaml:"host"`
	// Port: zero picks 993 (implicit) or 143.
	Port int     `yaml:"port"`
	TLS  TLSMode `yaml:"tls"`
	User string  `yaml:"user"`
	// Password comes from the environment variable PasswordEnv or the file
	// PasswordFile (trailing newline dropped); never from the file itself,
	// never logged.
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// Folder read. Zero: INBOX.
	Folder string `yaml:"folder"`
	// PollInterval is how often a server without IDLE is asked for new
	// mail, and how often IDLE is renewed to notice a dead connection.
	// Zero: 30s.
	PollInterval time.Duration `yaml:"poll_interval"`
	// InsecureSkipVerify accepts any server certificate (a self-signed test
	// server). Zero: verify.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`

	password string
}

// SMTP is how a mailbox's replies are sent.
type SMTP struct {
	Host string `yaml:"host"`
	// Port: zero picks 465 (implicit) or 587.
	Port               int     `yaml:"port"`
	TLS                TLSMode `yaml:"tls"`
	User               string  `yaml:"user"`
	PasswordEnv        string  `yaml:"password_env"`
	PasswordFile       string  `yaml:"password_file"`
	InsecureSkipVerify bool    `yaml:"insecure_skip_verify"`
	// MaxConnections is how many mails of this mailbox (replies and
	// acknowledgements) one gateway hands to the server at once; the rest
	// wait for one of them. Zero: DefaultMaxConnections.
	MaxConnections int `yaml:"max_connections"`

	password string
}

// Addr is host:port.
func (c IMAP) Addr() string {
	p := c.Port
	if p == 0 {
		p = 143
		if c.TLS == TLSImplicit {
			p = 993
		}
	}
	return fmt.Sprintf("%s:%d", c.Host, p)
}

// Addr is host:port.
func (c SMTP) Addr() string {
	p := c.Port
	if p == 0 {
		p = 587
		if c.TLS == TLSImplicit {
			p = 465
		}
	}
	return fmt.Sprintf("%s:%d", c.Host, p)
}

// key names the mailbox in Redis keys and logs: user@host:port/folder,
// never the password.
func (m Mailbox) key() string {
	return m.IMAP.User + "@" + m.IMAP.Addr() + "/" + m.IMAP.Folder
}

func readSecret(env, file string) (string, error) {
	switch {
	case env != "" && file != "":
		return "", errors.New("password_env and password_file are exclusive")
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			// The error names the file, not its content.
			return "", fmt.Errorf("password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// check validates the configuration and loads the secrets. Errors name the
// mailbox and the field, never a secret.
func (c *Config) check() error {
	if len(c.Mailboxes) == 0 {
		return errors.New("email: no mailboxes configured")
	}
	seen := map[string]bool{}
	for i := range c.Mailboxes {
		m := &c.Mailboxes[i]
		a, err := mail.ParseAddress(m.Address)
		if err != nil {
			return fmt.Errorf("email: mailbox %d: address %q: %w", i+1, m.Address, err)
		}
		m.Address = strings.ToLower(a.Address)
		if seen[m.Address] {
			return fmt.Errorf("email: mailbox %s listed twice", m.Address)
		}
		seen[m.Address] = true
		if m.PlusSeparator == "" {
			m.PlusSeparator = "+"
		}
		if m.IMAP.Folder == "" {
			m.IMAP.Folder = DefaultFolder
		}
		if m.IMAP.PollInterval <= 0 {
			m.IMAP.PollInterval = DefaultPollInterval
		}
		switch n := m.SMTP.MaxConnections; {
		case n == 0:
			m.SMTP.MaxConnections = DefaultMaxConnections
		case n < 0 || n > 256:
			return fmt.Errorf("email: mailbox %s: smtp max_connections %d (want 1 to 256, or 0 for %d)", m.Address, n, DefaultMaxConnections)
		}
		for _, t := range []struct {
			what string
			mode *TLSMode
			host string
		}{{"imap", &m.IMAP.TLS, m.IMAP.Host}, {"smtp", &m.SMTP.TLS, m.SMTP.Host}} {
			if t.host == "" {
				return fmt.Errorf("email: mailbox %s: %s host is required", m.Address, t.what)
			}
			switch *t.mode {
			case "":
				*t.mode = TLSImplicit
			case TLSImplicit, TLSStartTLS, TLSPlain:
			default:
				return fmt.Errorf("email: mailbox %s: %s tls %q (want implicit, starttls or plain)", m.Address, t.what, *t.mode)
			}
		}
		if m.IMAP.User == "" {
			return fmt.Errorf("email: mailbox %s: imap user is required", m.Address)
		}
		if m.IMAP.password, err = readSecret(m.IMAP.PasswordEnv, m.IMAP.PasswordFile); err != nil {
			return fmt.Errorf("email: mailbox %s: imap %w", m.Address, err)
		}
		if m.SMTP.password, err = readSecret(m.SMTP.PasswordEnv, m.SMTP.PasswordFile); err != nil {
			return fmt.Errorf("email: mailbox %s: smtp %w", m.Address, err)
		}
	}
	if c.AckPerHour <= 0 {
		c.AckPerHour = DefaultAckPerHour
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	c.Limits = c.Limits.withDefaults()
	return nil
}

func (c *Config) autoAck() bool { return c.AutoAck == nil || *c.AutoAck }
