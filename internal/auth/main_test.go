package auth

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard/switchboard/internal/redistest"
)

// One redis-server serves the package; each test gets its own workspace,
// so tests run in parallel without seeing each other's keys.
var (
	testServer redistest.Backend
	wsCounter  atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(redistest.RunSuite(m, redistest.Options{}, &testServer))
}

// fakeClock is a Clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func testWorkspace(t testing.TB) string {
	name := strings.NewReplacer("/", "-", "{", "", "}", "").Replace(t.Name())
	return fmt.Sprintf("%s-%d", name, wsCounter.Add(1))
}

// newService returns a Service on a fresh workspace with a fake clock;
// mod adjusts the config.
func newService(t testing.TB, ws string, mod func(*Config)) (*Service, *fakeClock, redis.UniversalClient) {
	t.Helper()
	rdb := testServer.Connect(t)
	clock := &fakeClock{now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	cfg := Config{Redis: rdb, Workspace: ws, BcryptCost: bcrypt.MinCost, Clock: clock}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, clock, rdb
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
