package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeSource is an in-memory event stream with a doorbell, as routing
// offers them.
type fakeSource struct {
	mu     sync.Mutex
	events []Event
	bells  []chan Event
	agents []AgentLive
}

func (s *fakeSource) append(evs ...Event) {
	s.mu.Lock()
	for _, e := range evs {
		// Like Redis, ids only grow, whatever time the event says.
		ms := e.At.UnixMilli()
		if n := len(s.events); n > 0 {
			var last int64
			fmt.Sscanf(s.events[n-1].ID, "%d-", &last)
			if ms < last {
				ms = last
			}
		}
		e.ID = fmt.Sprintf("%d-%d", ms, len(s.events))
		s.events = append(s.events, e)
	}
	bells := append([]chan Event(nil), s.bells...)
	s.mu.Unlock()
	for _, b := range bells {
		select {
		case b <- Event{}:
		default:
		}
	}
}

func (s *fakeSource) Events(_ context.Context, after string, count int) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, e := range s.events {
		if after == "" || idLess(after, e.ID) {
			out = append(out, e)
			if len(out) == count {
				break
			}
		}
	}
	return out, nil
}

func idLess(a, b string) bool {
	var am, as, bm, bs uint64
	fmt.Sscanf(strings.Replace(a, "-", " ", 1), "%d %d", &am, &as)
	fmt.Sscanf(strings.Replace(b, "-", " ", 1), "%d %d", &bm, &bs)
	return am < bm || (am == bm && as < bs)
}

func (s *fakeSource) Subscribe(ctx context.Context) (<-chan Event, error) {
	b := make(chan Event, 1)
	s.mu.Lock()
	s.bells = append(s.bells, b)
	s.mu.Unlock()
	return b, nil
}

func (s *fakeSource) Agents(context.Context) ([]AgentLive, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AgentLive(nil), s.agents...), nil
}

var testQueues = []QueueInfo{
	{Name: "support", Channels: []string{"chat"}, ServiceLevel: 20 * time.Second, WaitLimit: 60 * time.Second},
	{Name: "billing", ServiceLevel: 30 * time.Second, WaitLimit: 60 * time.Second},
}

func newService(t *testing.T, src Source, now time.Time, m *Metrics) *Service {
	t.Helper()
	cfg := Config{Source: src, Queues: testQueues, Now: func() time.Time { return now }, Resync: 50 * time.Millisecond}
	if m != nil {
		cfg.Observe = m.Observe
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m != nil {
		m.Attach(s)
	}
	return s
}

// run starts s and returns once it folded every event of src.
func run(t *testing.T, s *Service, src *fakeSource) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFolded(t, s, src)
	return cancel
}

func waitFolded(t *testing.T, s *Service, src *fakeSource) {
	t.Helper()
	src.mu.Lock()
	last := src.events[len(src.events)-1].ID
	src.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if b := s.Figures(); s.Ready() && b.LastEventID == last {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("service did not fold up to %s", last)
}

func boardJSON(t *testing.T, b Board) string {
	t.Helper()
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestServiceRestartMidStreamRebuildsIdenticalFigures(t *testing.T) {
	t.Parallel()
	now := t0.Add(5 * time.Minute)
	events := fixture()
	src := &fakeSource{}
	src.append(events[:len(events)/2]...)

	// The first gateway follows the stream live...
	first := newService(t, src, now, nil)
	run(t, first, src)
	half := boardJSON(t, first.Figures())
	src.append(events[len(events)/2:]...)
	waitFolded(t, first, src)

	// ...a second one (re)starts after everything happened and rebuilds
	// from the stream.
	second := newService(t, src, now, nil)
	run(t, second, src)

	a, b := boardJSON(t, first.Figures()), boardJSON(t, second.Figures())
	if a != b {
		t.Fatalf("a restarted gateway shows other figures:\n%.2000s\n%.2000s", a, b)
	}
	if a == half {
		t.Fatal("the second half of the stream changed nothing: the test proves nothing")
	}
	q := first.Figures().Queues[0]
	if q.Queue != "support" || q.Today.Answered != 3 || q.Today.Abandoned != 2 || q.Today.ShortAbandoned != 1 ||
		q.Today.ASAms != 110000/3 || q.Today.AHTms != 70000 || *q.Today.SLWithAbandons != 2.0/5 {
		t.Fatalf("support today: %+v", q.Today)
	}
	if q.Waiting != 0 || q.OldestSince != nil {
		t.Fatalf("nobody waits at the end of the fixture: %+v", q)
	}
}

func TestSameQueueTransferIsOneAnswerAndAgentsGetTheirShare(t *testing.T) {
	t.Parallel()
	ev := func(typ EventType, s int, agent string) Event {
		return Event{Type: typ, ConversationID: "c1", Queue: "support", Channel: "chat", AgentID: agent, At: at(s)}
	}
	transfer := ev(Transferred, 30, "ana")
	transfer.ToQueue = "support"
	f := fold([]Event{
		ev(Enqueued, 0, ""),
		ev(Offered, 1, "ana"), ev(Expired, 11, "ana"), // ana misses it
		ev(Offered, 12, "bob"), ev(Accepted, 15, "bob"), // answered after 15 s
		transfer, ev(Offered, 30, "ana"), ev(Accepted, 32, "ana"), // bob hands it to ana
		ev(Closed, 92, "ana"), // ana handled it 60 s
	})
	// An offer withdrawn because its agent went away was not missed.
	withdrawn := ev(Expired, 20, "carl")
	withdrawn.ConversationID, withdrawn.Reason = "c2", "agent away"
	f.Apply(Event{Type: Enqueued, ConversationID: "c2", Queue: "support", Channel: "chat", At: at(18)})
	f.Apply(withdrawn)
	c := f.Sum(t0, t0.Add(time.Hour), "", "")[Key{"support", "chat"}]
	want := Counts{Entered: 2, Offered: 3, Answered: 1, AnsweredInSL: 1, MissedOffers: 1, Closed: 1,
		TotalWait: 15 * time.Second, TotalHandle: 60 * time.Second, LongestAnswerWait: 15 * time.Second}
	if c != want {
		t.Fatalf("support:\n got %+v\nwant %+v", c, want)
	}
	agents := f.AgentSum(t0, t0.Add(time.Hour))
	if got, want := agents["ana"], (AgentCounts{Answered: 1, Handled: 1, TotalHandle: 60 * time.Second, MissedOffers: 1}); got != want {
		t.Fatalf("ana: got %+v want %+v", got, want)
	}
	if got := agents["carl"]; got != (AgentCounts{}) {
		t.Fatalf("carl's offer was withdrawn, not missed: %+v", got)
	}
	if got, want := agents["bob"], (AgentCounts{Answered: 1}); got != want {
		t.Fatalf("bob: got %+v want %+v", got, want)
	}
}

func TestFoldStartedMidStreamUsesTheWaitAndHandleEventsCarry(t *testing.T) {
	t.Parallel()
	// A fold that starts after these conversations were enqueued (a
	// history query from 10:00, or yesterday's conversations) still counts
	// them with what routing wrote on the events.
	f := fold([]Event{
		{Type: Accepted, ConversationID: "a", Queue: "support", Channel: "chat", At: at(10), Wait: 25 * time.Second},
		{Type: Closed, ConversationID: "b", Queue: "support", Channel: "chat", At: at(20), Handle: 40 * time.Second},
		{Type: Abandoned, ConversationID: "c", Queue: "support", Channel: "chat", At: at(30), Wait: 3 * time.Second},
		{Type: Abandoned, ConversationID: "d", Queue: "support", Channel: "chat", At: at(40), Wait: 19 * time.Second},
	})
	c := f.Sum(t0, t0.Add(time.Hour), "", "")[Key{"support", "chat"}]
	want := Counts{Answered: 1, TotalWait: 25 * time.Second, LongestAnswerWait: 25 * time.Second,
		Closed: 1, TotalHandle: 40 * time.Second, ShortAbandoned: 1, Abandoned: 1, AbandonedInSL: 1}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestAlertsRaiseAndClear(t *testing.T) {
	t.Parallel()
	now := t0.Add(10 * time.Minute)
	src := &fakeSource{}
	src.append(
		Event{Type: Enqueued, ConversationID: "slow", Queue: "support", Channel: "chat", At: now.Add(-90 * time.Second)},
		Event{Type: Enqueued, ConversationID: "late", Queue: "support", Channel: "sms", At: now.Add(-100 * time.Second)},
		Event{Type: Accepted, ConversationID: "late", Queue: "support", Channel: "sms", AgentID: "ana", At: now.Add(-10 * time.Second)},
		Event{Type: AgentAwayMissedOffers, AgentID: "bob", At: now.Add(-5 * time.Second)},
	)
	var mu sync.Mutex
	raised := map[string]bool{}
	s, err := New(Config{Source: src, Queues: testQueues, Now: func() time.Time { return now },
		OnAlert: func(a Alert, up bool) { mu.Lock(); raised[a.Key] = up; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s, src)
	s.tick()
	mu.Lock()
	for _, k := range []string{"wait_over_limit:support:chat", "sl_below_target:support:sms", "agent_away_missed_offers:bob"} {
		if !raised[k] {
			t.Errorf("alert %s not raised; got %v", k, raised)
		}
	}
	mu.Unlock()
	if n := len(s.Figures().Alerts); n != 3 {
		t.Fatalf("board alerts = %d, want 3", n)
	}
	src.append(Event{Type: AgentStateChanged, AgentID: "bob", State: "available", At: now},
		Event{Type: Abandoned, ConversationID: "slow", Queue: "support", Channel: "chat", At: now})
	waitFolded(t, s, src)
	s.tick()
	mu.Lock()
	defer mu.Unlock()
	if raised["wait_over_limit:support:chat"] || raised["agent_away_missed_offers:bob"] {
		t.Fatalf("alerts not cleared: %v", raised)
	}
}

func TestHistoryHandlerJSONAndCSV(t *testing.T) {
	t.Parallel()
	now := t0.Add(5 * time.Minute)
	src := &fakeSource{}
	src.append(fixture()...)
	s := newService(t, src, now, nil)
	run(t, s, src)
	h := s.HistoryHandler()

	get := func(target string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		if len(hdr) == 2 {
			r.Header.Set(hdr[0], hdr[1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	from, to := t0.Format(time.RFC3339), t0.Add(time.Hour).Format(time.RFC3339)
	w := get("/api/v1/stats?from=" + from + "&to=" + to + "&interval=1h&queue=support")
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var body struct {
		Rows []HistoryRow `json:"rows"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Rows) != 1 || body.Rows[0].Offered != 7 || body.Rows[0].Answered != 3 || body.Rows[0].Abandoned != 2 ||
		body.Rows[0].AHTSeconds != 70 || *body.Rows[0].ServiceLevel != 1.0/3 {
		t.Fatalf("rows: %+v", body.Rows)
	}
	w = get("/api/v1/stats?from="+from+"&to="+to+"&interval=3600", "Accept", "text/csv")
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	if w.Header().Get("Content-Type") != "text/csv; charset=utf-8" || len(lines) != 3 ||
		lines[2] != "2026-11-22T10:00:00Z,support,chat,7,2,3,2,1,36.666,0.3333,0.4000,0.2857,70,1,1,0" {
		t.Fatalf("csv:\n%s", w.Body)
	}
	// Before the window the service holds, it folds the stream again.
	early := newService(t, src, now, nil)
	early.start = now // as if it had started folding at now
	early.ready = true
	w2 := httptest.NewRecorder()
	early.HistoryHandler().ServeHTTP(w2, httptest.NewRequest(http.MethodGet, "/?format=csv&interval=1h&from="+from+"&to="+to, nil))
	if w2.Body.String() != w.Body.String() {
		t.Fatalf("history read from the stream differs:\n%s\n%s", w2.Body, w.Body)
	}
	for _, bad := range []string{"?interval=30s", "?interval=soon", "?from=yesterday", "?from=" + to + "&to=" + from} {
		if w := get("/api/v1/stats" + bad); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, w.Code)
		}
	}
}

func TestMetricsExportTheBoardFigures(t *testing.T) {
	t.Parallel()
	now := t0.Add(5 * time.Minute)
	src := &fakeSource{}
	src.append(fixture()...)
	m := NewMetrics()
	s := newService(t, src, now, m)
	run(t, s, src)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	if n, err := testutil.GatherAndCount(reg, "switchboard_queue_answered_today"); err != nil || n != 2 {
		t.Fatalf("answered series = %d (%v), want support and billing", n, err)
	}
	want := `
# HELP switchboard_queue_answered_today Conversations answered today.
# TYPE switchboard_queue_answered_today gauge
switchboard_queue_answered_today{channel="chat",queue="billing"} 1
switchboard_queue_answered_today{channel="chat",queue="support"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "switchboard_queue_answered_today"); err != nil {
		t.Fatal(err)
	}
	// The fixture was folded as a replay: counters start from zero with
	// the gateway, or rate() would see a jump at every restart.
	if n, err := testutil.GatherAndCount(reg, "switchboard_contacts_offered_total", "switchboard_answer_wait_seconds"); err != nil || n != 0 {
		t.Fatalf("replayed events made %d counter and histogram series (%v); want none", n, err)
	}

	// The same morning again, live this time.
	live := fixture()
	for i := range live {
		live[i].At = live[i].At.Add(5 * time.Minute)
	}
	src.append(live...)
	waitFolded(t, s, src)
	want = `
# HELP switchboard_contacts_abandoned_total Contacts whose customer left while waiting, short abandons included, since the gateway started.
# TYPE switchboard_contacts_abandoned_total counter
switchboard_contacts_abandoned_total{channel="chat",queue="support"} 3
# HELP switchboard_contacts_answered_total Contacts an agent accepted, counted once per queue entry, since the gateway started.
# TYPE switchboard_contacts_answered_total counter
switchboard_contacts_answered_total{channel="chat",queue="billing"} 1
switchboard_contacts_answered_total{channel="chat",queue="support"} 3
# HELP switchboard_contacts_offered_total Contacts that entered the queue (new, or transferred in from another queue), since the gateway started.
# TYPE switchboard_contacts_offered_total counter
switchboard_contacts_offered_total{channel="chat",queue="billing"} 1
switchboard_contacts_offered_total{channel="chat",queue="support"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "switchboard_contacts_offered_total",
		"switchboard_contacts_answered_total", "switchboard_contacts_abandoned_total"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		queue      string
		count      uint64
		sumSeconds float64
	}{
		{"switchboard_answer_wait_seconds", "support", 3, 10 + 40 + 60},
		{"switchboard_answer_wait_seconds", "billing", 1, 20},
		{"switchboard_offer_wait_seconds", "support", 1, 1}, // c6: enqueued at 25, offered at 26
		{"switchboard_handle_seconds", "support", 2, 60 + 80},
	} {
		n, sum := histogram(t, reg, tc.name, tc.queue)
		if n != tc.count || sum != tc.sumSeconds {
			t.Errorf("%s{queue=%q}: %d observations summing %gs; want %d, %gs", tc.name, tc.queue, n, sum, tc.count, tc.sumSeconds)
		}
	}
}

// histogram returns the sample count and sum of one chat series.
func histogram(t *testing.T, reg *prometheus.Registry, name, queue string) (uint64, float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			lbl := map[string]string{}
			for _, l := range m.GetLabel() {
				lbl[l.GetName()] = l.GetValue()
			}
			if lbl["queue"] == queue && lbl["channel"] == "chat" {
				return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
			}
		}
	}
	return 0, 0
}

func TestQueueOverridesShortAbandonAndTarget(t *testing.T) {
	t.Parallel()
	now := t0.Add(5 * time.Minute)
	src := &fakeSource{}
	src.append(
		Event{Type: Enqueued, ConversationID: "a", Queue: "strict", Channel: "chat", At: at(0)},
		Event{Type: Abandoned, ConversationID: "a", Queue: "strict", Channel: "chat", At: at(8)}, // short here: under 10 s
		Event{Type: Enqueued, ConversationID: "b", Queue: "strict", Channel: "chat", At: at(10)},
		Event{Type: Accepted, ConversationID: "b", Queue: "strict", Channel: "chat", At: at(25)}, // 15 s: within 20 s
	)
	s, err := New(Config{Source: src, Now: func() time.Time { return now },
		Queues: []QueueInfo{{Name: "strict", ServiceLevel: 10 * time.Second, ShortAbandon: 10 * time.Second, Target: 0.95}}})
	if err != nil {
		t.Fatal(err)
	}
	run(t, s, src)
	s.tick()
	q := s.Figures().Queues[0]
	if q.Target != 0.95 || q.ShortMs != 10000 || q.Today.ShortAbandoned != 1 || q.Today.Abandoned != 0 || *q.Today.ServiceLevel != 0 {
		t.Fatalf("strict: target %v short %d %+v", q.Target, q.ShortMs, q.Today)
	}
	if a := s.Figures().Alerts; len(a) != 1 || a[0].Kind != AlertSLBelowTarget || !strings.Contains(a[0].Message, "95 %") {
		t.Fatalf("alerts = %+v", a)
	}
}

func TestMetricsExportConsumerLag(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	m.SetConsumerLags(func(context.Context) ([]ConsumerLag, error) {
		return []ConsumerLag{{Group: "gateway", Lag: 7, Pending: 2}}, nil
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	want := `
# HELP switchboard_event_consumer_lag Routing events not yet handed to the consumer group (read from Redis at scrape time).
# TYPE switchboard_event_consumer_lag gauge
switchboard_event_consumer_lag{group="gateway"} 7
# HELP switchboard_event_consumer_pending Routing events handed to the consumer group but not yet acknowledged.
# TYPE switchboard_event_consumer_pending gauge
switchboard_event_consumer_pending{group="gateway"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "switchboard_event_consumer_lag", "switchboard_event_consumer_pending"); err != nil {
		t.Fatal(err)
	}
}

func TestQueueTargetsValidate(t *testing.T) {
	for _, tc := range []struct {
		q  QueueTargets
		ok bool
	}{
		{QueueTargets{Name: "support"}, true},
		{QueueTargets{Name: "support", ShortAbandonSeconds: 10, ServiceLevelTarget: 0.9}, true},
		{QueueTargets{Name: "support", ShortAbandonSeconds: -1}, false},
		{QueueTargets{Name: "support", ServiceLevelTarget: 1.5}, false},
	} {
		if err := tc.q.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok=%v", tc.q, err, tc.ok)
		}
	}
}
