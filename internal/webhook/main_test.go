package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/routing"
)

var server *redistest.Server

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(redistest.RunPackage(m, redistest.Options{}, &server))
}

var wsSeq atomic.Int64

func workspace(t testing.TB) string {
	r := strings.NewReplacer("/", "-", " ", "-", "{", "", "}", "")
	return fmt.Sprintf("%s-%d", r.Replace(t.Name()), wsSeq.Add(1))
}

// loopbackOnly is the dialer every test installs: it fails the test if the
// service ever tries to connect anywhere but loopback, so no packet leaves
// the machine even when the guard is broken.
func loopbackOnly(t *testing.T, dials *atomic.Int64) DialFunc {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("dial %q: %v", addr, err)
			return nil, err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.IsLoopback() {
			t.Errorf("the service tried to connect to %s; tests may only reach loopback", addr)
			return nil, fmt.Errorf("test dialer: %s refused", addr)
		}
		if dials != nil {
			dials.Add(1)
		}
		return d.DialContext(ctx, network, addr)
	}
}

// fakeResolver maps names to addresses without DNS.
type fakeResolver struct {
	mu    sync.Mutex
	names map[string][]netip.Addr
}

func (r *fakeResolver) set(name string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string][]netip.Addr{}
	}
	r.names[name] = nil
	for _, a := range addrs {
		r.names[name] = append(r.names[name], netip.MustParseAddr(a))
	}
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.names[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("no such host %s", host)
}

type harness struct {
	t      *testing.T
	ctx    context.Context
	ws     string
	engine *routing.Engine
	res    *fakeResolver
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ws := workspace(t)
	e, err := routing.New(routing.Params{Client: server.NewClient(t), Workspace: ws, EventsMaxLen: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, ctx: ctx, ws: ws, engine: e, res: &fakeResolver{}}
}

// service builds one "gateway's" webhook service; mod adjusts its params.
func (h *harness) service(name string, mod func(*Params)) *Service {
	h.t.Helper()
	p := Params{Redis: server.NewClient(h.t), Workspace: h.ws, Routing: h.engine, Consumer: name,
		Dial: loopbackOnly(h.t, nil), Resolver: h.res, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Timeout: 2 * time.Second}
	if mod != nil {
		mod(&p)
	}
	s, err := New(p)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// run starts s until the returned stop is called or the test ends, and
// waits until its consumer group exists so no event is missed.
func (h *harness) run(s *Service) (stop func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(h.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Run(ctx); err != nil {
			h.t.Errorf("run: %v", err)
		}
	}()
	stream := "sb:{" + h.ws + "}:events"
	deadline := time.Now().Add(5 * time.Second)
	for {
		groups, _ := s.rdb.XInfoGroups(h.ctx, stream).Result()
		if len(groups) > 0 {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatal("webhook consumer group never appeared")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	h.t.Cleanup(stop)
	return stop
}

func (h *harness) enqueue(conv string) {
	h.t.Helper()
	if err := h.engine.Enqueue(h.ctx, routing.Request{ConversationID: conv, Channel: "sms", CustomerID: "cust-" + conv}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) abandon(conv string) {
	h.t.Helper()
	if err := h.engine.Abandon(h.ctx, conv, routing.CauseCustomer); err != nil {
		h.t.Fatal(err)
	}
}

// received is one delivery as the receiver saw it, verified.
type received struct {
	env Envelope
	hdr http.Header
}

// receiver is a local endpoint that verifies every signature and answers
// what respond says.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	secrets []string
	got     []received
	respond func(n int, env Envelope) (status int, header map[string]string)
	calls   atomic.Int64
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := int(r.calls.Add(1))
		body, _ := io.ReadAll(req.Body)
		var env Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			t.Errorf("receiver: undecodable body %q: %v", body, err)
		}
		r.mu.Lock()
		secrets := append([]string(nil), r.secrets...)
		r.mu.Unlock()
		ok := false
		for _, s := range secrets {
			if Verify(s, req.Header.Get(HeaderID), req.Header.Get(HeaderTimestamp), req.Header.Get(HeaderSignature), body, time.Now(), 5*time.Minute) == nil {
				ok = true
			}
		}
		if !ok {
			t.Errorf("receiver: signature of %s does not verify with any of %d secrets", env.ID, len(secrets))
		}
		if req.Header.Get(HeaderID) != env.ID {
			t.Errorf("receiver: webhook-id %q, body id %q", req.Header.Get(HeaderID), env.ID)
		}
		status := http.StatusNoContent
		if r.respond != nil {
			var hdr map[string]string
			status, hdr = r.respond(n, env)
			for k, v := range hdr {
				w.Header().Set(k, v)
			}
		}
		if status >= 200 && status < 300 {
			r.mu.Lock()
			r.got = append(r.got, received{env: env, hdr: req.Header.Clone()})
			r.mu.Unlock()
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) trust(secret string) {
	r.mu.Lock()
	r.secrets = append(r.secrets, secret)
	r.mu.Unlock()
}

func (r *receiver) delivered() []Envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Envelope, 0, len(r.got))
	for _, g := range r.got {
		out = append(out, g.env)
	}
	return out
}

// deliveredIDs are the ids of the accepted deliveries, in arrival order.
func (r *receiver) deliveredIDs() []string {
	var ids []string
	for _, e := range r.delivered() {
		ids = append(ids, e.ID)
	}
	return ids
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ptr[T any](v T) *T { return &v }

// register creates an endpoint at the receiver (loopback, so private
// addresses are allowed explicitly) and trusts its secret.
func register(t *testing.T, s *Service, r *receiver, events ...string) Endpoint {
	t.Helper()
	in := EndpointInput{URL: ptr(r.srv.URL + "/hook"), AllowPrivate: ptr(true)}
	if len(events) > 0 {
		in.Events = &events
	}
	ep, secret, err := s.Create(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	r.trust(secret)
	return ep
}
