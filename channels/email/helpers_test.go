package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/imaptest"
	"github.com/switchboard/switchboard/internal/redistest"
)

var server *redistest.Server

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(redistest.RunPackage(m, redistest.Options{AOF: true}, &server))
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

func workspace(t testing.TB) string {
	return nonWord.ReplaceAllString(t.Name(), "_") + fmt.Sprint(time.Now().UnixNano()%1e9)
}

// sink is an in-process SMTP server that keeps what it is given; it
// answers 550 for recipients in reject.
type sink struct {
	addr   string
	mu     sync.Mutex
	mails  []sunk
	reject map[string]bool
	conns  []net.Conn // every connection accepted, for dropAll
	// hold, when set, keeps every MAIL command waiting until it is closed:
	// a provider that does not answer.
	hold chan struct{}
}

type sunk struct {
	from  string
	rcpts []string
	raw   []byte
}

func startSink(t testing.TB) *sink {
	t.Helper()
	s := &sink{reject: map[string]bool{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go func() { _ = srv.Serve(&sinkListener{Listener: l, s: s}) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// sinkListener records the connections the sink accepts.
type sinkListener struct {
	net.Listener
	s *sink
}

func (l *sinkListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns = append(l.s.conns, c)
		l.s.mu.Unlock()
	}
	return c, err
}

// holdMail keeps every MAIL command waiting, as a provider that does not
// answer, until release (safe to call again, and called when t ends: a
// cleanup registered after the channel's own runs first, so Run's wait for
// acknowledgements is not held).
func (s *sink) holdMail(t testing.TB) (release func()) {
	hold := make(chan struct{})
	s.mu.Lock()
	s.hold = hold
	s.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	return release
}

// connections is how many connections the sink has accepted.
func (s *sink) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// dropAll closes every connection from the server's side, as a server
// that drops idle clients does.
func (s *sink) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		_ = c.Close()
	}
}

func (s *sink) all() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.mails...)
}

type sinkSession struct {
	s     *sink
	from  string
	rcpts []string
}

func (ss *sinkSession) Reset()        { ss.from, ss.rcpts = "", nil }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.s.mu.Lock()
	hold := ss.s.hold
	ss.s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	ss.from = from
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	rej := ss.s.reject[to]
	ss.s.mu.Unlock()
	if rej {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user " + to}
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, sunk{from: ss.from, rcpts: ss.rcpts, raw: b})
	ss.s.mu.Unlock()
	return nil
}

// core is the conversation service with the rest of channel.Core recorded:
// real Receive, UpdateDelivery and threading; estimates scripted.
type core struct {
	*conversation.Service
	mu       sync.Mutex
	told     []string
	estimate channel.Place
	answered map[string]bool // conversations to count as answered, whatever the record says
}

func (c *core) Answered(ctx context.Context, conv string) (bool, error) {
	c.mu.Lock()
	yes := c.answered[conv]
	c.mu.Unlock()
	if yes {
		return true, nil
	}
	return c.Service.Answered(ctx, conv)
}

func (c *core) UpdateDelivery(ctx context.Context, st channel.DeliveryStatus) error {
	err := c.Service.UpdateDelivery(ctx, st)
	if errors.Is(err, conversation.ErrUnknownMessage) {
		return fmt.Errorf("%w: %w", err, channel.ErrUnknownMessage)
	}
	return err
}
func (c *core) Place(context.Context, string) (channel.Place, error) { return channel.Place{}, nil }
func (c *core) Estimate(context.Context, string) (channel.Place, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.estimate, nil
}
func (c *core) Told(_ context.Context, conv, text string, _ channel.Place) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.told = append(c.told, conv+": "+text)
	return nil
}
func (c *core) Record(context.Context, string, string, string) error { return nil }
func (c *core) CustomerEnded(context.Context, string) error          { return nil }
func (c *core) Missed(context.Context, string, string) error         { return nil }

// router accepts every conversation.
type router struct {
	mu  sync.Mutex
	enq []string
}

func (r *router) Enqueue(_ context.Context, req conversation.RouteRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.enq = append(r.enq, req.ConversationID)
	return nil
}
func (r *router) Abandon(context.Context, string) error                        { return nil }
func (r *router) Close(context.Context, string, string) error                  { return nil }
func (r *router) Transfer(context.Context, conversation.TransferRequest) error { return nil }

// Start takes every conversation an agent starts (conversation.Starter).
func (r *router) Start(context.Context, conversation.RouteRequest, string) error { return nil }

// lateSender lets the service be built before the channel it sends through.
type lateSender struct{ ch *Channel }

func (l *lateSender) Send(ctx context.Context, out channel.Outbound) (channel.SendResult, error) {
	return l.ch.Send(ctx, out)
}

// env is a gateway's email side against real Redis, real Dovecot and an
// SMTP sink.
type env struct {
	t    testing.TB
	rdb  *redis.Client
	ws   string
	dove *imaptest.Server
	smtp *sink
	svc  *conversation.Service
	core *core
	ch   *Channel
	cfg  Config
}

const (
	supportUser = "support"
	supportPass = "s3cret-pass"
	supportAddr = "support@shop.example"
)

func newEnv(t testing.TB, edit func(*Config)) *env {
	t.Helper()
	e := &env{t: t, rdb: server.NewClient(t), ws: workspace(t)}
	e.dove = imaptest.Start(t, map[string]string{supportUser: supportPass})
	e.smtp = startSink(t)
	t.Setenv("TEST_IMAP_PASSWORD", supportPass)
	e.cfg = mailboxConfig(e.dove.Port, e.smtp.addr)
	if edit != nil {
		edit(&e.cfg)
	}
	e.build(t)
	return e
}

func mailboxConfig(imapPort int, smtpAddr string) Config {
	host, port, _ := net.SplitHostPort(smtpAddr)
	var sp int
	fmt.Sscan(port, &sp)
	return Config{
		LeaseTTL: 1500 * time.Millisecond,
		Mailboxes: []Mailbox{{
			Address: supportAddr, Name: "Shop Support", Queue: "support", ReplyAddress: true,
			IMAP: IMAP{Host: "127.0.0.1", Port: imapPort, TLS: TLSPlain, User: supportUser, PasswordEnv: "TEST_IMAP_PASSWORD", PollInterval: 2 * time.Second},
			SMTP: SMTP{Host: host, Port: sp, TLS: TLSPlain},
		}},
	}
}

// build makes another gateway (service + channel) on the same Redis,
// workspace, Dovecot and SMTP sink.
func (e *env) build(t testing.TB) *Channel {
	t.Helper()
	ls := &lateSender{}
	svc, err := conversation.New(conversation.Params{
		Redis: e.rdb, Workspace: e.ws, Router: &router{},
		Senders:       map[channel.Name]conversation.Sender{channel.Email: ls},
		AttachmentDir: t.TempDir(),
		Outbox:        conversation.OutboxConfig{Poll: 20 * time.Millisecond, BaseBackoff: 20 * time.Millisecond, SendTimeout: 5 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &core{Service: svc}
	ch, err := New(e.cfg, Deps{Core: c, Redis: e.rdb, Workspace: e.ws, Attachments: svc,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Authorize: func(echo.Context, string) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ch.reconnect, ch.maxReconnect = 100*time.Millisecond, 500*time.Millisecond
	ls.ch = ch
	if e.ch == nil {
		e.svc, e.core, e.ch = svc, c, ch
	}
	return ch
}

// run starts the channel and the outbox until the test ends or stop.
func run(t testing.TB, ch *Channel, svc *conversation.Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = ch.Run(ctx) }()
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// logRecorder keeps what a channel logs, for tests of what it says.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

// recordLogs makes the env's channel log to a new recorder.
func (e *env) recordLogs() *logRecorder {
	l := &logRecorder{}
	e.ch.log = slog.New(l)
	return l
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// said is the value of attribute key (the empty string when absent) of
// every record whose message begins with msg, oldest first.
func (l *logRecorder) said(msg, key string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if !strings.HasPrefix(r.Message, msg) {
			continue
		}
		v := ""
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				v = a.Value.String()
				return false
			}
			return true
		})
		out = append(out, v)
	}
	return out
}

func eventually(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// checkpoint is the stored last UID of the env's mailbox.
func (e *env) checkpoint() int {
	n, _ := e.rdb.HGet(context.Background(), e.ch.k.ckpt(e.ch.cfg.Mailboxes[0].key()), "uid").Int()
	return n
}

// conversations are the ids of every email conversation in the workspace.
func (e *env) conversations() []string {
	keys, _ := e.rdb.Keys(context.Background(), "sb:{"+e.ws+"}:conv:cv_*").Result()
	var out []string
	for _, k := range keys {
		if !strings.Contains(strings.TrimPrefix(k, "sb:{"+e.ws+"}:conv:"), ":") {
			out = append(out, strings.TrimPrefix(k, "sb:{"+e.ws+"}:conv:"))
		}
	}
	return out
}

// customerMessages counts the customer entries in a conversation.
func (e *env) customerMessages(conv string) []conversation.Entry {
	tr, err := e.svc.Transcript(context.Background(), conv, "", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []conversation.Entry
	for _, en := range tr {
		if en.Type == conversation.EntryCustomer {
			out = append(out, en)
		}
	}
	return out
}

// mail builds a raw message; headers in order, CRLF line ends.
func rawMail(headers [][2]string, body string) []byte {
	var b bytes.Buffer
	for _, h := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))
	return b.Bytes()
}

func hasSeen(f []imap.Flag) bool {
	for _, x := range f {
		if x == imap.FlagSeen {
			return true
		}
	}
	return false
}
