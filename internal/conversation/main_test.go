package conversation

import (
	"context"
	"errors"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/redistest"
)

// server is the package's redis-server; each test gets its own workspace
// (hash tag) on it, so tests run in parallel without seeing each other.
var server redistest.Backend

func TestMain(m *testing.M) {
	os.Exit(redistest.RunSuite(m, redistest.Options{AOF: true}, &server))
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// workspace is unique per test and per run (-count=N reuses names).
func workspace(t *testing.T) string {
	return nonWord.ReplaceAllString(t.Name(), "_") + "_" + newID("")
}

// fakeRouter records what the service asks of routing.
type fakeRouter struct {
	mu        sync.Mutex
	enqueued  []RouteRequest
	closed    []string
	abandoned []string
	transfers []TransferRequest
	failNext  int // fail this many Enqueue calls
}

func (r *fakeRouter) Enqueue(_ context.Context, req RouteRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failNext > 0 {
		r.failNext--
		return errors.New("routing down")
	}
	r.enqueued = append(r.enqueued, req)
	return nil
}

func (r *fakeRouter) Abandon(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.abandoned = append(r.abandoned, id)
	return nil
}

func (r *fakeRouter) Close(_ context.Context, id, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = append(r.closed, id)
	return nil
}

func (r *fakeRouter) Transfer(_ context.Context, req TransferRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.transfers = append(r.transfers, req)
	return nil
}

func (r *fakeRouter) enqueuedIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, q := range r.enqueued {
		ids = append(ids, q.ConversationID)
	}
	return ids
}

// fakeSender answers each Send with the next scripted result.
type fakeSender struct {
	mu     sync.Mutex
	calls  []channel.Outbound
	script []func(channel.Outbound) (channel.SendResult, error)
	// block, when set, makes Send wait for ctx to end (a send that never
	// returns, as when the process dies mid-send).
	block bool
}

func (f *fakeSender) Send(ctx context.Context, out channel.Outbound) (channel.SendResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, out)
	n := len(f.calls)
	block := f.block
	var fn func(channel.Outbound) (channel.SendResult, error)
	if n <= len(f.script) {
		fn = f.script[n-1]
	}
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return channel.SendResult{}, ctx.Err()
	}
	if fn != nil {
		return fn(out)
	}
	return channel.SendResult{ProviderID: "SM" + out.MessageID, Status: "queued"}, nil
}

func (f *fakeSender) sent() []channel.Outbound {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]channel.Outbound(nil), f.calls...)
}

// recNotifier records notifications.
type recNotifier struct {
	mu      sync.Mutex
	entries []Entry
}

func (n *recNotifier) Notify(_ context.Context, _ string, e Entry) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.entries = append(n.entries, e)
}

type env struct {
	svc    *Service
	router *fakeRouter
	sender *fakeSender
	rdb    redis.UniversalClient
	params Params
}

// newEnv builds a Service on its own workspace; edit adjusts the params.
func newEnv(t *testing.T, edit func(*Params)) *env {
	t.Helper()
	rdb := server.Connect(t)
	e := &env{router: &fakeRouter{}, sender: &fakeSender{}, rdb: rdb}
	p := Params{
		Redis:         rdb,
		Workspace:     workspace(t),
		Router:        e.router,
		Senders:       map[channel.Name]Sender{channel.SMS: e.sender, channel.Email: e.sender, channel.Chat: e.sender},
		Routes:        map[string]Route{"+14155550000": {Queue: "sales", Skills: []string{"en"}}},
		AttachmentDir: t.TempDir(),
		Outbox: OutboxConfig{
			Poll: 10 * time.Millisecond, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
			SendTimeout: 200 * time.Millisecond, Lease: 400 * time.Millisecond, RouteRetry: 50 * time.Millisecond,
		},
	}
	if edit != nil {
		edit(&p)
	}
	e.params = p
	svc, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e
}

// run starts the outbox loop until the test ends or stop is called.
func (e *env) run(t *testing.T) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.svc.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func sms(from, text, sid string) channel.Inbound {
	return channel.Inbound{Channel: channel.SMS, From: from, To: "+14155550000", Text: text, ProviderID: sid}
}
