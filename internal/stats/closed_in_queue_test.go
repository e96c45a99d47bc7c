package stats

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// closesInTheQueue is a support/chat morning where staff close three
// contacts nobody answered (spam): one waited past the service-level
// threshold, one within it, one under the short-abandon threshold. Beside
// them, a customer's abandon of each kind, an answer and one still waiting.
func closesInTheQueue() []Event {
	ev := func(typ EventType, conv string, s int) Event {
		return Event{Type: typ, ConversationID: conv, Queue: "support", Channel: "chat", At: at(s)}
	}
	closed := func(conv string, s int) Event {
		e := ev(Abandoned, conv, s)
		e.ClosedInQueue = true
		return e
	}
	return []Event{
		ev(Enqueued, "answered", 0), ev(Accepted, "answered", 10), // 10 s: within SL
		ev(Enqueued, "left", 0), ev(Abandoned, "left", 30), // 30 s: an abandon outside SL
		ev(Enqueued, "quick", 0), ev(Abandoned, "quick", 2), // 2 s: a short abandon
		ev(Enqueued, "spam", 0), closed("spam", 40), // would be an abandon outside SL
		ev(Enqueued, "spam2", 0), closed("spam2", 12), // would be an abandon within SL
		ev(Enqueued, "dup", 0), closed("dup", 2), // would be a short abandon
		ev(Enqueued, "waits", 0),
	}
}

// TestAStaffCloseFromTheQueueIsNotAnAbandon: contacts staff closed while
// they waited are counted apart; no abandon figure, nor the abandoned
// counter, includes them, and the abandon rate leaves them out of what it
// divides by. A customer's abandon still counts as before.
func TestAStaffCloseFromTheQueueIsNotAnAbandon(t *testing.T) {
	t.Parallel()
	f := NewFolder(time.Minute, thresholds)
	m := NewMetrics()
	f.Observe = m.Observe
	for _, e := range closesInTheQueue() {
		f.Apply(e)
	}
	c := f.Sum(t0, t0.Add(time.Hour), "", "")[Key{"support", "chat"}]
	want := Counts{Entered: 7, Answered: 1, AnsweredInSL: 1, Abandoned: 1, ShortAbandoned: 1, ClosedInQueue: 3,
		TotalWait: 10 * time.Second, LongestAnswerWait: 10 * time.Second}
	if c != want {
		t.Fatalf("counts:\n got %+v\nwant %+v", c, want)
	}
	for _, r := range []struct {
		desc      string
		got, want float64
	}{
		{"abandon rate: 1 abandon of 7 entered less 3 closed", must(c.AbandonRate()), 1.0 / 4},
		{"service level with abandons: (1 + 0) of (1 answered + 1 abandoned)", must(c.ServiceLevelWithAbandons()), 1.0 / 2},
		{"service level", must(c.ServiceLevel()), 1},
	} {
		if d := r.got - r.want; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s = %v, want %v", r.desc, r.got, r.want)
		}
	}
	if w := f.Waiting(); len(w) != 1 || w[0].ConversationID != "waits" {
		t.Errorf("waiting %+v; want only the one nobody closed", w)
	}
	for _, r := range []struct {
		name      string
		got, want float64
	}{
		{"switchboard_contacts_abandoned_total", testutil.ToFloat64(m.abandoned.WithLabelValues("support", "chat")), 2},
		{"switchboard_contacts_closed_in_queue_total", testutil.ToFloat64(m.closedInQueue.WithLabelValues("support", "chat")), 3},
	} {
		if r.got != r.want {
			t.Errorf("%s = %v, want %v", r.name, r.got, r.want)
		}
	}
}

// TestAbandonRateWithOnlyClosesInThePeriod: a period whose contacts were
// all closed in the queue by staff has no abandon rate, not 0 % nor a
// division by zero.
func TestAbandonRateWithOnlyClosesInThePeriod(t *testing.T) {
	t.Parallel()
	c := Counts{Entered: 2, ClosedInQueue: 2}
	if r, ok := c.AbandonRate(); ok {
		t.Errorf("abandon rate %v of nothing a customer could abandon; want none", r)
	}
	// A close of a contact that entered before the period read.
	c = Counts{Entered: 1, Abandoned: 1, ClosedInQueue: 2}
	if r, ok := c.AbandonRate(); ok {
		t.Errorf("abandon rate %v with more closes than entries; want none", r)
	}
}

// TestTheBoardAndHistoryShowClosesInTheQueue: supervisors see the closes
// from the queue apart, on the board, in the history (JSON and CSV) and in
// the gauges.
func TestTheBoardAndHistoryShowClosesInTheQueue(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	src.append(closesInTheQueue()...)
	m := NewMetrics()
	s := newService(t, src, t0.Add(5*time.Minute), m)
	run(t, s, src)

	var support *ChannelBoard
	b := s.Figures()
	for _, q := range b.Queues {
		for i, c := range q.Channels {
			if q.Queue == "support" && c.Channel == "chat" {
				support = &q.Channels[i]
			}
		}
	}
	if support == nil {
		t.Fatalf("no support/chat row: %+v", b.Queues)
	}
	if f := support.Today; f.Offered != 7 || f.Abandoned != 1 || f.ShortAbandoned != 1 || f.ClosedInQueue != 3 ||
		f.AbandonRate == nil || *f.AbandonRate != 0.25 {
		t.Errorf("today: %+v", f)
	}
	raw, err := json.Marshal(support.Today)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"closed_in_queue":3`) {
		t.Errorf("board JSON %s; want closed_in_queue 3", raw)
	}

	from, to := t0.Format(time.RFC3339), t0.Add(time.Hour).Format(time.RFC3339)
	w := httptest.NewRecorder()
	s.HistoryHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/?format=csv&interval=1h&queue=support&from="+from+"&to="+to, nil))
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], ",closed_in_queue") || !strings.HasSuffix(lines[1], ",3") {
		t.Errorf("csv:\n%s", w.Body)
	}
	w = httptest.NewRecorder()
	s.HistoryHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/?interval=1h&queue=support&from="+from+"&to="+to, nil))
	var body struct {
		Rows []HistoryRow `json:"rows"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Rows) != 1 || body.Rows[0].ClosedInQueue != 3 || body.Rows[0].Abandoned != 1 {
		t.Errorf("history rows %+v", body.Rows)
	}

	want := `
# HELP switchboard_queue_closed_in_queue_today Conversations staff closed today before anyone answered (not abandons).
# TYPE switchboard_queue_closed_in_queue_today gauge
switchboard_queue_closed_in_queue_today{channel="chat",queue="support"} 3
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "switchboard_queue_closed_in_queue_today"); err != nil {
		t.Error(err)
	}
}
