// Package config turns flags, environment variables and the optional YAML
// file into one validated Config. Precedence is flag, then environment, then
// file, then default. Every flag has an environment twin, listed in
// docs/configuration.md; a bad value is reported with the name of the field
// and never with a secret's value.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/internal/realtime"
)

// Config is the whole runtime configuration of one gateway.
type Config struct {
	// Listen is the HTTP listen address. Default 127.0.0.1:8080: loopback
	// unless the operator says otherwise.
	Listen string
	// PublicURL is the base URL the outside world (Twilio, browsers) uses to
	// reach this gateway, e.g. https://support.example.com. Empty means
	// http://<Listen>. Twilio signatures are checked against it.
	PublicURL string
	// ConfigFile is the optional YAML file for queues, agents and channels.
	ConfigFile string
	// DataDir holds attachments and other local files. Default ./data.
	DataDir string
	// AttachmentsURL, when set, keeps attachments in that S3-compatible
	// bucket (http(s)://host[:port]/bucket[?region=…]) instead of DataDir,
	// so that every gateway serves every attachment. Empty: DataDir.
	AttachmentsURL string
	// AttachmentsAccessKey and AttachmentsSecretKey sign the bucket's
	// requests; the secret key is secret.
	AttachmentsAccessKey, AttachmentsSecretKey string
	// AdminPassword is the first admin's password; empty means a password is
	// generated and printed once on first start. Secret.
	AdminPassword string
	// RedisURL selects the store. Empty starts the embedded in-process store
	// (nothing survives a restart). Secret: it may carry a password.
	RedisURL string
	// Workspace is the Redis hash tag all keys of this installation share.
	// Default "default".
	Workspace string
	// TimeZone is the workspace's IANA time zone ("America/Los_Angeles"):
	// where the supervisor's "today" and the stats history's days begin, and
	// the zone queues' business hours are read in. Default UTC.
	TimeZone string
	// Location is TimeZone loaded; set by Load.
	Location *time.Location
	// TwilioAccountSID and TwilioAuthToken enable the SMS and voice
	// channels; both empty means those channels are off. The token is secret.
	TwilioAccountSID string
	TwilioAuthToken  string
	// TwilioAPIBaseURL points the Twilio REST client at a Twilio-compatible
	// mock for local testing. Empty means Twilio's own API.
	TwilioAPIBaseURL string
	// TwilioAPIKeySID and TwilioAPIKeySecret sign the agents' softphone
	// tokens (voice); both empty turns the browser softphone off. The
	// secret is secret.
	TwilioAPIKeySID    string
	TwilioAPIKeySecret string
	// TrustProxy makes the gateway believe X-Forwarded-Proto/Host (and the
	// client IP in X-Forwarded-For). Off by default: only turn it on behind a
	// proxy that sets them.
	TrustProxy bool
	// LoginFailuresPerIP failed logins from one client IP within 15 min
	// refuse further logins from it. Default 100: room for an office
	// behind one NAT address. With TrustProxy the IP is the one the proxy
	// reports.
	LoginFailuresPerIP int
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel slog.Level
	// LogFormat is text or json; empty picks text on a terminal, JSON
	// otherwise.
	LogFormat string
	// ShutdownTimeout bounds the graceful drain on SIGINT/SIGTERM.
	// Default 10s.
	ShutdownTimeout time.Duration
	// MaxSockets is how many websockets one gateway holds before it turns
	// new chat visitors away with "busy, try again" (agents always get in;
	// open sockets are never closed for it). 0 means no limit. Default 20000.
	MaxSockets int
	// MaxMemoryMB is the Go heap size, in MiB, above which new chat
	// visitors are turned away the same way. 0 means no limit. Default 1024.
	MaxMemoryMB int
	// VisitorHandlers is how many chat visitors' messages one gateway
	// handles at once; the rest wait in their sockets' readers, so a burst
	// of visitors costs small stacks, not thousands of deep handlers.
	// Agents' and supervisors' consoles are never held by it. Default
	// realtime.DefaultMaxHandling (256).
	VisitorHandlers int
	// PprofListen, when set, serves Go's /debug/pprof profiles on this
	// separate address (keep it on loopback: profiles expose internals).
	// Empty, the default, serves none.
	PprofListen string

	// File is what the YAML file says about queues, agents and channels.
	File File
}

// File is the YAML configuration file. Sections a later part of the product
// reads are kept as raw nodes here and decoded by their owner, so this
// package does not import routing or the channels.
type File struct {
	// Listen and the other scalar settings may also be set in the file;
	// flags and environment win.
	Listen    string `yaml:"listen"`
	PublicURL string `yaml:"public_url"`
	DataDir   string `yaml:"data_dir"`
	Workspace string `yaml:"workspace"`
	TimeZone  string `yaml:"time_zone"`

	// Queues and Agents are decoded by routing (routing.QueueConfig,
	// routing.AgentConfig).
	Queues yaml.Node `yaml:"queues"`
	Agents yaml.Node `yaml:"agents"`
	// Channels holds one section per channel (sms, voice, email, chat),
	// decoded by each channel.
	Channels map[string]yaml.Node `yaml:"channels"`
	// Promises holds the follow-up promise settings, decoded by the
	// promise package (promise.Config).
	Promises yaml.Node `yaml:"promises"`
	// Surveys is the satisfaction survey (internal/survey.Config) and
	// Recovery service recovery (internal/recovery.Config), decoded there.
	Surveys  yaml.Node `yaml:"surveys"`
	Recovery yaml.Node `yaml:"recovery"`
	// CannedReplies are the saved replies agents search with "/" in the
	// console. Empty means a few generic ones.
	CannedReplies []CannedReply `yaml:"canned_replies"`
	// Outbox tunes sending (internal/conversation.OutboxConfig).
	Outbox Outbox `yaml:"outbox"`
}

// Outbox is the outbox section of the file.
type Outbox struct {
	// SendWorkers is how many messages one gateway sends at once. Zero:
	// conversation.DefaultSendWorkers.
	SendWorkers int `yaml:"send_workers"`
}

// CannedReply is one saved reply.
type CannedReply struct {
	Shortcut string `yaml:"shortcut"`
	Title    string `yaml:"title"`
	Text     string `yaml:"text"`
}

// Error is a configuration problem; Field names the flag or environment
// variable at fault.
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("config: %s: %s", e.Field, e.Reason) }

// ErrHelp is returned when -h or --help was asked for; usage was printed.
var ErrHelp = flag.ErrHelp

// option is one setting with its flag, environment twin and default.
type option struct {
	flag, env, def, help string
	secret               bool
	set                  func(c *Config, v string) error
}

var options = []option{
	{"listen", "SWITCHBOARD_LISTEN", "127.0.0.1:8080", "HTTP listen address (host:port)", false,
		func(c *Config, v string) error { c.Listen = v; return nil }},
	{"public-url", "SWITCHBOARD_PUBLIC_URL", "", "public base URL, e.g. https://support.example.com (default http://<listen>)", false,
		func(c *Config, v string) error { c.PublicURL = v; return nil }},
	{"config", "SWITCHBOARD_CONFIG", "", "YAML file with queues, agents and channel settings", false,
		func(c *Config, v string) error { c.ConfigFile = v; return nil }},
	{"data-dir", "SWITCHBOARD_DATA_DIR", "data", "directory for attachments and local files", false,
		func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"attachments-url", "SWITCHBOARD_ATTACHMENTS_URL", "", "S3-compatible bucket for attachments, http(s)://host[:port]/bucket (default: the data directory)", false,
		func(c *Config, v string) error { c.AttachmentsURL = v; return nil }},
	{"attachments-access-key", "SWITCHBOARD_ATTACHMENTS_ACCESS_KEY", "", "access key of the attachments bucket", false,
		func(c *Config, v string) error { c.AttachmentsAccessKey = v; return nil }},
	{"attachments-secret-key", "SWITCHBOARD_ATTACHMENTS_SECRET_KEY", "", "secret key of the attachments bucket", true,
		func(c *Config, v string) error { c.AttachmentsSecretKey = v; return nil }},
	{"admin-password", "SWITCHBOARD_ADMIN_PASSWORD", "", "first admin's password (default: generated, shown once on a terminal or written to <data-dir>/admin-password)", true,
		func(c *Config, v string) error { c.AdminPassword = v; return nil }},
	{"redis-url", "REDIS_URL", "", "redis://, rediss:// or unix:// URL (default: embedded store, nothing survives a restart)", true,
		func(c *Config, v string) error { c.RedisURL = v; return nil }},
	{"workspace", "SWITCHBOARD_WORKSPACE", "default", "workspace name; all Redis keys share its hash tag", false,
		func(c *Config, v string) error { c.Workspace = v; return nil }},
	{"time-zone", "SWITCHBOARD_TIME_ZONE", "UTC", "workspace time zone, an IANA name such as America/Los_Angeles: where today begins, and the zone of business hours", false,
		func(c *Config, v string) error { c.TimeZone = v; return nil }},
	{"twilio-account-sid", "TWILIO_ACCOUNT_SID", "", "Twilio account SID (SMS and voice are off without it)", false,
		func(c *Config, v string) error { c.TwilioAccountSID = v; return nil }},
	{"twilio-auth-token", "TWILIO_AUTH_TOKEN", "", "Twilio auth token", true,
		func(c *Config, v string) error { c.TwilioAuthToken = v; return nil }},
	{"twilio-api-base-url", "TWILIO_API_BASE_URL", "", "Twilio REST base URL, for a Twilio-compatible mock in local testing", false,
		func(c *Config, v string) error { c.TwilioAPIBaseURL = v; return nil }},
	{"twilio-api-key-sid", "TWILIO_API_KEY_SID", "", "Twilio API key SID that signs softphone tokens (voice)", false,
		func(c *Config, v string) error { c.TwilioAPIKeySID = v; return nil }},
	{"twilio-api-key-secret", "TWILIO_API_KEY_SECRET", "", "Twilio API key secret", true,
		func(c *Config, v string) error { c.TwilioAPIKeySecret = v; return nil }},
	{"trust-proxy", "SWITCHBOARD_TRUST_PROXY", "false", "trust X-Forwarded-* headers from a reverse proxy", false,
		func(c *Config, v string) (err error) { c.TrustProxy, err = strconv.ParseBool(v); return err }},
	{"login-failures-per-ip", "SWITCHBOARD_LOGIN_FAILURES_PER_IP", "100", "failed logins from one client IP in 15 min before its logins are refused", false,
		func(c *Config, v string) (err error) {
			c.LoginFailuresPerIP, err = strconv.Atoi(v)
			if err == nil && c.LoginFailuresPerIP < 1 {
				err = errors.New("must be at least 1")
			}
			return err
		}},
	{"log-level", "SWITCHBOARD_LOG_LEVEL", "info", "debug, info, warn or error", false,
		func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{"log-format", "SWITCHBOARD_LOG_FORMAT", "", "text or json (default: text on a terminal, else json)", false,
		func(c *Config, v string) error { c.LogFormat = v; return nil }},
	{"shutdown-timeout", "SWITCHBOARD_SHUTDOWN_TIMEOUT", "10s", "bound on the graceful drain at shutdown", false,
		func(c *Config, v string) (err error) { c.ShutdownTimeout, err = time.ParseDuration(v); return err }},
	{"max-sockets", "SWITCHBOARD_MAX_SOCKETS", "20000", "websockets held before new chat visitors are told \"busy, try again\" (0: no limit)", false,
		func(c *Config, v string) (err error) { c.MaxSockets, err = strconv.Atoi(v); return err }},
	{"max-memory-mb", "SWITCHBOARD_MAX_MEMORY_MB", "1024", "Go heap in MiB above which new chat visitors are told \"busy, try again\" (0: no limit)", false,
		func(c *Config, v string) (err error) { c.MaxMemoryMB, err = strconv.Atoi(v); return err }},
	{"visitor-handlers", "SWITCHBOARD_VISITOR_HANDLERS", strconv.Itoa(realtime.DefaultMaxHandling), "chat visitors' messages handled at once; the rest wait their turn (consoles never do)", false,
		func(c *Config, v string) (err error) { c.VisitorHandlers, err = strconv.Atoi(v); return err }},
	{"pprof-listen", "SWITCHBOARD_PPROF_LISTEN", "", "serve /debug/pprof on this separate address, e.g. 127.0.0.1:6060 (default: off)", false,
		func(c *Config, v string) error { c.PprofListen = v; return nil }},
}

// secretFileEnvs may name a file holding the secret instead of the value,
// for container secrets: TWILIO_AUTH_TOKEN_FILE and so on.
var secretFileEnvs = map[string]bool{"SWITCHBOARD_ADMIN_PASSWORD": true, "TWILIO_AUTH_TOKEN": true, "REDIS_URL": true,
	"SWITCHBOARD_ATTACHMENTS_SECRET_KEY": true}

// Load parses args (without the program name) and the environment given by
// getenv into a validated Config. Usage goes to usage on -h.
func Load(args []string, getenv func(string) string, usage io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("switchboard serve", flag.ContinueOnError)
	fs.SetOutput(usage)
	flagVals := make(map[string]*string, len(options))
	for _, o := range options {
		help := fmt.Sprintf("%s (env %s)", o.help, o.env)
		flagVals[o.flag] = fs.String(o.flag, "", help)
	}
	fs.Usage = func() {
		fmt.Fprintln(usage, "Usage: switchboard [serve] [flags]\n\nFlags (each has an environment twin):")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ErrHelp
		}
		return nil, &Error{Field: "flags", Reason: err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, &Error{Field: "arguments", Reason: fmt.Sprintf("unexpected %q", fs.Arg(0))}
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })

	c := &Config{}
	// The config file's location must be known before the other values,
	// since the file is the lowest layer below them.
	for _, o := range options {
		if o.flag != "config" {
			continue
		}
		v, _, err := lookup(o, explicit, flagVals, getenv)
		if err != nil {
			return nil, err
		}
		c.ConfigFile = v
	}
	fileVals := map[string]string{}
	if c.ConfigFile != "" {
		if err := c.readFile(); err != nil {
			return nil, err
		}
		fileVals = map[string]string{"listen": c.File.Listen, "public-url": c.File.PublicURL,
			"data-dir": c.File.DataDir, "workspace": c.File.Workspace, "time-zone": c.File.TimeZone}
	}
	for _, o := range options {
		v, found, err := lookup(o, explicit, flagVals, getenv)
		if err != nil {
			return nil, err
		}
		if !found {
			if fv := fileVals[o.flag]; fv != "" {
				v = fv
			} else {
				v = o.def
			}
		}
		if err := o.set(c, v); err != nil {
			return nil, &Error{Field: o.name(), Reason: describe(o, v, err)}
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (o option) name() string { return "--" + o.flag + " / " + o.env }

// describe explains a bad value without echoing a secret.
func describe(o option, v string, err error) string {
	if o.secret {
		return "invalid value"
	}
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		err = ne.Err
	}
	return fmt.Sprintf("invalid value %q: %v", v, err)
}

// lookup returns the flag value if given, else the environment's (or the
// content of the file its _FILE twin names).
func lookup(o option, explicit map[string]bool, flagVals map[string]*string, getenv func(string) string) (string, bool, error) {
	if explicit[o.flag] {
		return *flagVals[o.flag], true, nil
	}
	if v := getenv(o.env); v != "" {
		return v, true, nil
	}
	if secretFileEnvs[o.env] {
		if path := getenv(o.env + "_FILE"); path != "" {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", false, &Error{Field: o.env + "_FILE", Reason: fmt.Sprintf("cannot read %s: %v", path, errors.Unwrap(err))}
			}
			return strings.TrimSpace(string(b)), true, nil
		}
	}
	return "", false, nil
}

func (c *Config) readFile() error {
	b, err := os.ReadFile(c.ConfigFile)
	if err != nil {
		return &Error{Field: "--config / SWITCHBOARD_CONFIG", Reason: err.Error()}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&c.File); err != nil && !errors.Is(err, io.EOF) {
		return &Error{Field: c.ConfigFile, Reason: err.Error()}
	}
	return nil
}

func (c *Config) validate() error {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return &Error{Field: "--listen / SWITCHBOARD_LISTEN", Reason: fmt.Sprintf("%q is not host:port", c.Listen)}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return &Error{Field: "--listen / SWITCHBOARD_LISTEN", Reason: fmt.Sprintf("port %q is not a number from 0 to 65535", port)}
	}
	if host != "" && net.ParseIP(host) == nil && !validHostname(host) {
		return &Error{Field: "--listen / SWITCHBOARD_LISTEN", Reason: fmt.Sprintf("host %q is neither an IP address nor a host name", host)}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &Error{Field: "--public-url / SWITCHBOARD_PUBLIC_URL", Reason: fmt.Sprintf("%q is not an absolute http(s) URL", c.PublicURL)}
		}
		c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	}
	if n := c.File.Outbox.SendWorkers; n < 0 || n > 4096 {
		return &Error{Field: "outbox.send_workers", Reason: fmt.Sprintf("%d is not from 0 (the default) to 4096", n)}
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil || c.TimeZone == "" || c.TimeZone == "Local" {
		return &Error{Field: "--time-zone / SWITCHBOARD_TIME_ZONE", Reason: fmt.Sprintf("%q is not an IANA time zone name such as Europe/Berlin", c.TimeZone)}
	}
	c.Location = loc
	if c.RedisURL != "" {
		if err := checkRedisURL(c.RedisURL); err != nil {
			return err
		}
	}
	if c.TwilioAPIBaseURL != "" {
		u, err := url.Parse(c.TwilioAPIBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &Error{Field: "--twilio-api-base-url / TWILIO_API_BASE_URL", Reason: fmt.Sprintf("%q is not an absolute http(s) URL", c.TwilioAPIBaseURL)}
		}
	}
	if (c.TwilioAccountSID == "") != (c.TwilioAuthToken == "") {
		return &Error{Field: "--twilio-account-sid / TWILIO_ACCOUNT_SID", Reason: "the account SID and the auth token go together: set both or neither"}
	}
	if c.TwilioAccountSID != "" && (!strings.HasPrefix(c.TwilioAccountSID, "AC") || !alnum(c.TwilioAccountSID)) {
		return &Error{Field: "--twilio-account-sid / TWILIO_ACCOUNT_SID", Reason: "must start with AC and hold only letters and digits"}
	}
	if c.TwilioAuthToken != "" && !alnum(c.TwilioAuthToken) {
		return &Error{Field: "--twilio-auth-token / TWILIO_AUTH_TOKEN", Reason: "must hold only letters and digits"}
	}
	if c.Workspace == "" || strings.ContainsAny(c.Workspace, "{}: \t\n") {
		return &Error{Field: "--workspace / SWITCHBOARD_WORKSPACE", Reason: fmt.Sprintf("%q must be non-empty without braces, colons or spaces", c.Workspace)}
	}
	if c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json" {
		return &Error{Field: "--log-format / SWITCHBOARD_LOG_FORMAT", Reason: fmt.Sprintf("%q is neither text nor json", c.LogFormat)}
	}
	if c.ShutdownTimeout <= 0 {
		return &Error{Field: "--shutdown-timeout / SWITCHBOARD_SHUTDOWN_TIMEOUT", Reason: "must be positive"}
	}
	if c.DataDir == "" {
		return &Error{Field: "--data-dir / SWITCHBOARD_DATA_DIR", Reason: "must not be empty"}
	}
	if c.MaxSockets < 0 {
		return &Error{Field: "--max-sockets / SWITCHBOARD_MAX_SOCKETS", Reason: "must not be negative"}
	}
	if c.MaxMemoryMB < 0 {
		return &Error{Field: "--max-memory-mb / SWITCHBOARD_MAX_MEMORY_MB", Reason: "must not be negative"}
	}
	if c.VisitorHandlers < 1 {
		return &Error{Field: "--visitor-handlers / SWITCHBOARD_VISITOR_HANDLERS", Reason: "must be at least 1"}
	}
	if c.PprofListen != "" {
		if _, _, err := net.SplitHostPort(c.PprofListen); err != nil {
			return &Error{Field: "--pprof-listen / SWITCHBOARD_PPROF_LISTEN", Reason: fmt.Sprintf("%q is not host:port", c.PprofListen)}
		}
	}
	return nil
}

// BaseURL is the public URL, or one derived from the listen address.
func (c *Config) BaseURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	host, port, _ := net.SplitHostPort(c.Listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Embedded reports whether the gateway runs on the in-process store.
func (c *Config) Embedded() bool { return c.RedisURL == "" }

// TwilioEnabled reports whether Twilio credentials were given.
func (c *Config) TwilioEnabled() bool { return c.TwilioAccountSID != "" }

func alnum(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// checkRedisURL accepts a redis:// or rediss:// URL with a host, or a
// unix:// URL naming a socket path. A socket is one Redis on this host, so
// it cannot select Sentinel or Cluster. Errors never echo the URL: it may
// hold a password.
func checkRedisURL(raw string) error {
	const field = "--redis-url / REDIS_URL"
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return &Error{Field: field, Reason: "is not a URL"}
	case u.Scheme == "unix":
		if u.Host != "" || u.Path == "" {
			return &Error{Field: field, Reason: "a unix:// URL names a socket path, as in unix:///run/redis/redis.sock"}
		}
		if q := u.Query(); q.Has("master_name") || q.Has("addr") || q.Has("cluster") {
			return &Error{Field: field, Reason: "a Unix socket is one Redis: Sentinel and Cluster need redis:// or rediss:// URLs"}
		}
	case u.Scheme != "redis" && u.Scheme != "rediss" || u.Host == "":
		return &Error{Field: field, Reason: "must be a redis:// or rediss:// URL with a host, or unix:///path/to/redis.sock"}
	}
	return nil
}
