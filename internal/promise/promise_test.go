package promise

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redistest"
)

var server *redistest.Server

func TestMain(m *testing.M) {
	os.Exit(redistest.RunPackage(m, redistest.Options{}, &server))
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeRouter records returns; the desk's tests drive the real routing.
type fakeRouter struct {
	mu      sync.Mutex
	canTake bool
	returns []string
}

func (r *fakeRouter) Owner(context.Context, string, string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.canTake {
		return "available", true, nil
	}
	return "away", false, nil
}

func (r *fakeRouter) Return(_ context.Context, convID, _ string, _ int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.returns = append(r.returns, convID)
	return nil
}

func newService(t *testing.T, p Params) (*Service, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	p.Redis = server.NewClient(t)
	p.Workspace = "p_" + rand.Text()[:10]
	p.Now = c.Now
	s, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// TestFiguresAgainstHandComputed resolves a fixture of promises at known
// times and checks the figures against values worked out by hand.
func TestFiguresAgainstHandComputed(t *testing.T) {
	t.Parallel()
	s, c := newService(t, Params{})
	ctx := context.Background()
	start := c.Now()
	type fixture struct {
		queue, agent string
		keepAfter    time.Duration // after due; negative: before
		cancel       bool
	}
	// Every promise is due an hour after it is made.
	fixtures := []fixture{
		{"support", "ana", -time.Minute, false},    // kept
		{"support", "ana", time.Minute, false},     // late 60 s
		{"support", "ana", 3 * time.Minute, false}, // late 180 s
		{"support", "ana", 0, true},                // broken
		{"billing", "bo", -time.Hour / 2, false},   // kept
		{"billing", "bo", 0, false},                // kept: exactly at due is on time
		{"billing", "bo", 30 * time.Second, false}, // late 30 s
	}
	for _, f := range fixtures {
		c.t = start
		p, err := s.Make(ctx, Request{ConversationID: "cv1", AgentID: f.agent, Queue: f.queue, What: "call back", Due: start.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		c.t = start.Add(time.Hour + f.keepAfter)
		if f.cancel {
			_, err = s.Cancel(ctx, p.ID)
		} else {
			_, err = s.Keep(ctx, p.ID, ViaCall)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// One resolved outside the period.
	c.t = start
	p, err := s.Make(ctx, Request{ConversationID: "cv2", AgentID: "ana", Queue: "support", What: "x", Due: start.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	c.t = start.Add(5 * time.Hour)
	if _, err := s.Keep(ctx, p.ID, ViaNote); err != nil {
		t.Fatal(err)
	}

	f, err := s.Figures(ctx, start, start.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got Figure, kept, late, broken int, ratio, median float64) {
		t.Helper()
		if got.Kept != kept || got.Late != late || got.Broken != broken {
			t.Errorf("%s: kept/late/broken %d/%d/%d; want %d/%d/%d", name, got.Kept, got.Late, got.Broken, kept, late, broken)
		}
		if got.KeptOnTime == nil || abs(*got.KeptOnTime-ratio) > 1e-9 {
			t.Errorf("%s: kept on time %v; want %v", name, got.KeptOnTime, ratio)
		}
		if got.MedianLatenessSeconds == nil || *got.MedianLatenessSeconds != median {
			t.Errorf("%s: median lateness %v; want %v", name, got.MedianLatenessSeconds, median)
		}
	}
	check("all", f.All, 3, 3, 1, 3.0/7, 60)
	check("queue support", f.Queues["support"], 1, 2, 1, 0.25, 120)
	check("agent ana", f.Agents["ana"], 1, 2, 1, 0.25, 120)
	check("queue billing", f.Queues["billing"], 2, 1, 0, 2.0/3, 30)
	check("agent bo", f.Agents["bo"], 2, 1, 0, 2.0/3, 30)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestBrokenHookHearsEachBrokenPromiseOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var broken []string
	s, c := newService(t, Params{})
	s.OnBroken(func(_ context.Context, p Promise) {
		mu.Lock()
		broken = append(broken, p.ID+":"+string(p.State))
		mu.Unlock()
	})
	ctx := context.Background()
	p, err := s.Make(ctx, Request{ConversationID: "cv1", AgentID: "ana", What: "call back", Due: c.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = s.Cancel(ctx, p.ID) }()
	}
	wg.Wait()
	if len(broken) != 1 || broken[0] != p.ID+":broken" {
		t.Fatalf("Broken heard %q; want once %s", broken, p.ID)
	}
	kept, err := s.Make(ctx, Request{ConversationID: "cv1", AgentID: "ana", What: "send label", Due: c.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Keep(ctx, kept.ID, ViaReply); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Cancel(ctx, kept.ID); !errors.Is(err, ErrResolved) {
		t.Fatalf("cancelling a kept promise: %v; want ErrResolved", err)
	}
	if len(broken) != 1 {
		t.Fatalf("a kept promise was reported broken: %q", broken)
	}
	evs, err := s.rdb.XRange(ctx, s.EventsKey(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Values["type"] == "broken" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d broken events on the stream; want 1", n)
	}
}

func TestMakeRefusesBadInput(t *testing.T) {
	t.Parallel()
	s, c := newService(t, Params{})
	ctx := context.Background()
	long := make([]rune, MaxWhat+1)
	for i := range long {
		long[i] = 'x'
	}
	for _, tc := range []struct {
		desc string
		req  Request
	}{
		{"no what", Request{ConversationID: "c", AgentID: "a", Due: c.Now().Add(time.Hour)}},
		{"what too long", Request{ConversationID: "c", AgentID: "a", What: string(long), Due: c.Now().Add(time.Hour)}},
		{"due now", Request{ConversationID: "c", AgentID: "a", What: "x", Due: c.Now()}},
		{"no agent", Request{ConversationID: "c", What: "x", Due: c.Now().Add(time.Hour)}},
	} {
		if _, err := s.Make(ctx, tc.req); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v; want ErrInvalid", tc.desc, err)
		}
	}
	if _, err := s.Make(ctx, Request{ConversationID: "c", AgentID: "a", What: "x", Due: c.Now().Add(time.Hour), Pending: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Make(ctx, Request{ConversationID: "c", AgentID: "a", What: "y", Due: c.Now().Add(time.Hour), Pending: true}); !errors.Is(err, ErrParked) {
		t.Fatalf("second pending promise on one conversation: %v; want ErrParked", err)
	}
	if err := s.SetCustomerZone(ctx, "cu1", "Mars/Olympus"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad zone: %v", err)
	}
}

// TestReminderAndDueShownOnce runs two gateways' loops on one promise: the
// reminder and the due notice reach the console once each.
func TestReminderAndDueShownOnce(t *testing.T) {
	t.Parallel()
	cons := &recConsoles{}
	r := &fakeRouter{canTake: true}
	s1, c := newService(t, Params{Router: r, Consoles: cons, RemindBefore: 10 * time.Minute})
	s2, err := New(Params{Redis: s1.rdb, Workspace: s1.p.Workspace, Router: r, Consoles: cons, Now: c.Now, RemindBefore: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s1.Make(ctx, Request{ConversationID: "cv1", AgentID: "ana", What: "call back", Due: c.Now().Add(time.Hour), Pending: true}); err != nil {
		t.Fatal(err)
	}
	tick := func() {
		for _, s := range []*Service{s1, s2} {
			if err := s.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	tick()
	if cons.count() != "" {
		t.Fatalf("shown before its time: %s", cons.count())
	}
	c.Add(51 * time.Minute)
	tick()
	tick()
	if got := cons.count(); got != "remind:ana " {
		t.Fatalf("after the reminder time: %q", got)
	}
	c.Add(10 * time.Minute)
	tick()
	tick()
	if got := cons.count(); got != "remind:ana due:ana " {
		t.Fatalf("after due: %q", got)
	}
	if len(r.returns) != 1 {
		t.Fatalf("returned %d times; want 1", len(r.returns))
	}
}

type recConsoles struct {
	mu  sync.Mutex
	log string
}

func (c *recConsoles) PromiseReminder(_ context.Context, agentID string, _ Promise) {
	c.mu.Lock()
	c.log += "remind:" + agentID + " "
	c.mu.Unlock()
}

func (c *recConsoles) PromiseDue(_ context.Context, agentID string, _ Promise) {
	c.mu.Lock()
	c.log += "due:" + agentID + " "
	c.mu.Unlock()
}

func (c *recConsoles) count() string { c.mu.Lock(); defer c.mu.Unlock(); return c.log }

func TestTellRendersTheDueTime(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	if got := Tell("I'll call you by {due}.", due, berlin); got != "I'll call you by Thu 3 Dec 15:00 CET." {
		t.Fatalf("Tell: %q", got)
	}
	if got := Tell("No time here.", due, berlin); got != "No time here." {
		t.Fatalf("Tell without placeholder: %q", got)
	}
}
