package routing

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

// shared is the package's redis-server; each test gets its own workspace
// (its own hash tag), so tests do not see each other's keys.
var shared redistest.Backend

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(redistest.RunSuite(m, redistest.Options{}, &shared))
}

var wsSeq atomic.Int64

// workspace returns a workspace name unique to this test run.
func workspace(t testing.TB) string {
	r := strings.NewReplacer("/", "-", " ", "-", ":", "-", ",", "-", "{", "", "}", "", "=", "-")
	return fmt.Sprintf("%s-%d", r.Replace(t.Name()), wsSeq.Add(1))
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t     *testing.T
	ctx   context.Context
	e     *Engine
	clock *fakeClock
	rc    redis.UniversalClient
	ws    string
}

// newEnv builds an engine with a fake clock on the shared server.
func newEnv(t *testing.T, queues []QueueConfig, mod ...func(*Params)) *env {
	t.Helper()
	rc := shared.Connect(t)
	clock := newFakeClock()
	p := Params{Client: rc, Workspace: workspace(t), Queues: queues, Clock: clock, EventsMaxLen: 1_000_000,
		// Tests that jump the clock are not about presence unless they say so.
		PresenceGrace: 24 * time.Hour}
	for _, f := range mod {
		f(&p)
	}
	e, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: context.Background(), e: e, clock: clock, rc: rc, ws: p.Workspace}
}

func (v *env) must(err error) {
	v.t.Helper()
	if err != nil {
		v.t.Fatal(err)
	}
}

// agent creates an available agent.
func (v *env) agent(a AgentConfig) {
	v.t.Helper()
	v.must(v.e.UpsertAgent(v.ctx, a))
	v.must(v.e.SetAgentState(v.ctx, a.ID, StateAvailable, ""))
}

func (v *env) enqueue(r Request) {
	v.t.Helper()
	if r.Channel == "" {
		r.Channel = chChat
	}
	v.must(v.e.Enqueue(v.ctx, r))
}

func (v *env) conv(id string) ConvStatus {
	v.t.Helper()
	c, err := v.e.Conversation(v.ctx, id)
	v.must(err)
	return c
}

func (v *env) agentStatus(id string) AgentStatus {
	v.t.Helper()
	a, err := v.e.Agent(v.ctx, id)
	v.must(err)
	return a
}

// offeredTo asserts where a conversation is.
func (v *env) expect(id string, st ConvState, agent string) {
	v.t.Helper()
	c := v.conv(id)
	if c.State != st || c.AgentID != agent {
		v.t.Fatalf("%s: state %s agent %q; want %s agent %q", id, c.State, c.AgentID, st, agent)
	}
}

func (v *env) events() []Event {
	v.t.Helper()
	ev, err := v.e.Events(v.ctx, "", 1_000_000)
	v.must(err)
	return ev
}

// eventTypes lists the types of the events about conversation id.
func (v *env) eventTypes(id string) []string {
	var out []string
	for _, e := range v.events() {
		if e.ConversationID == id {
			out = append(out, string(e.Type))
		}
	}
	return out
}

// gateway is one more Engine on workspace ws of the shared server, as
// another gateway would run it.
func gateway(t *testing.T, ws string) *Engine {
	t.Helper()
	e, err := New(Params{Client: shared.Connect(t), Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	return e
}
