package stats

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func laService(t *testing.T, src Source, now time.Time) *Service {
	t.Helper()
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Source: src, Queues: testQueues, Now: func() time.Time { return now }, Location: la,
		Resync: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func utcTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A contact center in California: "today" starts at local midnight, not at
// midnight UTC (4 pm the day before), so a conversation ten minutes before
// local midnight belongs to yesterday and one ten minutes after to today.
func TestTodayStartsAtLocalMidnight(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	ev := func(typ EventType, conv, at string) Event {
		return Event{Type: typ, ConversationID: conv, Queue: "support", Channel: "chat", At: utcTime(t, at)}
	}
	src.append(
		ev(Enqueued, "before", "2026-11-24T07:50:00Z"), // 23:50 PST, 23 November
		ev(Accepted, "before", "2026-11-24T07:50:10Z"),
		ev(Enqueued, "after", "2026-11-24T08:10:00Z"), // 00:10 PST, 24 November
		ev(Accepted, "after", "2026-11-24T08:10:10Z"),
	)
	s := laService(t, src, utcTime(t, "2026-11-24T08:30:00Z"))
	run(t, s, src)
	b := s.Figures()
	if want := utcTime(t, "2026-11-24T08:00:00Z"); !b.TodayFrom.Equal(want) {
		t.Errorf("today from %v, want %v", b.TodayFrom.UTC(), want)
	}
	for _, q := range b.Queues {
		if q.Queue != "support" {
			continue
		}
		if q.Today.Offered != 1 || q.Today.Answered != 1 {
			t.Errorf("today: offered %d answered %d, want 1 and 1 (only the one after local midnight)", q.Today.Offered, q.Today.Answered)
		}
	}
}

// Daily history rows are the workspace's calendar days: 1 November 2026 in
// Los Angeles is 25 hours long (clocks go back), so its row starts at 07:00
// UTC and the next one at 08:00 UTC; a contact at 23:30 on the 1st belongs
// to the 1st.
func TestHistoryDaysFollowTheLocalCalendarAcrossDST(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	ev := func(typ EventType, conv, at string) Event {
		return Event{Type: typ, ConversationID: conv, Queue: "support", Channel: "chat", At: utcTime(t, at)}
	}
	src.append(
		ev(Enqueued, "a", "2026-11-01T08:30:00Z"), // 01:30 PDT, 1 November (before the change)
		ev(Enqueued, "b", "2026-11-02T07:30:00Z"), // 23:30 PST, 1 November
		ev(Enqueued, "c", "2026-11-02T08:30:00Z"), // 00:30 PST, 2 November
	)
	s := laService(t, src, utcTime(t, "2026-11-02T09:00:00Z"))
	run(t, s, src)
	w := httptest.NewRecorder()
	s.HistoryHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet,
		"/?interval=24h&from=2026-11-01T07:00:00Z&to=2026-11-02T09:00:00Z", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var body struct {
		Rows []HistoryRow `json:"rows"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range body.Rows {
		got[r.Start.UTC().Format(time.RFC3339)] += r.Offered
	}
	want := map[string]int{"2026-11-01T07:00:00Z": 2, "2026-11-02T08:00:00Z": 1}
	if len(got) != len(want) || got["2026-11-01T07:00:00Z"] != 2 || got["2026-11-02T08:00:00Z"] != 1 {
		t.Fatalf("daily rows %v, want %v", got, want)
	}
	// Without from, the history starts at today's local midnight.
	w = httptest.NewRecorder()
	s.HistoryHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/?interval=1h", nil))
	var def struct {
		From time.Time `json:"from"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &def); err != nil {
		t.Fatal(err)
	}
	if want := utcTime(t, "2026-11-02T08:00:00Z"); !def.From.Equal(want) {
		t.Errorf("default from %v, want %v", def.From, want)
	}
}

func TestIntervalStart(t *testing.T) {
	t.Parallel()
	kolkata, err := time.LoadLocation("Asia/Kolkata") // UTC+05:30
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		at   string
		step time.Duration
		loc  *time.Location
		want string
	}{
		{"hours count from local midnight in a half-hour zone", "2026-11-24T04:10:00Z", time.Hour, kolkata, "2026-11-24T03:30:00Z"},
		{"15 minutes in UTC", "2026-11-24T04:10:00Z", 15 * time.Minute, nil, "2026-11-24T04:00:00Z"},
		{"a day in a half-hour zone", "2026-11-24T20:00:00Z", 24 * time.Hour, kolkata, "2026-11-24T18:30:00Z"},
	}
	for _, tc := range tests {
		if got := intervalStart(utcTime(t, tc.at), tc.step, tc.loc); !got.Equal(utcTime(t, tc.want)) {
			t.Errorf("%s: %v, want %s", tc.desc, got.UTC(), tc.want)
		}
	}
}

// A decline is not a miss: the board counts them apart, per queue and per
// agent.
func TestDeclinesAreCountedApartFromMisses(t *testing.T) {
	t.Parallel()
	src := &fakeSource{}
	at := utcTime(t, "2026-11-24T10:00:00Z")
	ev := func(typ EventType, agent string, s int) Event {
		return Event{Type: typ, ConversationID: "c1", Queue: "support", Channel: "chat", AgentID: agent, At: at.Add(time.Duration(s) * time.Second)}
	}
	src.agents = []AgentLive{{ID: "ana", Name: "Ana"}, {ID: "bob", Name: "Bob"}}
	src.append(ev(Enqueued, "", 0), ev(Offered, "ana", 1), ev(Declined, "ana", 2),
		ev(Offered, "bob", 3), ev(Expired, "bob", 33), ev(Offered, "ana", 60), ev(Accepted, "ana", 61))
	s := newService(t, src, at.Add(2*time.Minute), nil)
	run(t, s, src)
	b, err := s.Board(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range b.Queues {
		if q.Queue == "support" && (q.Today.MissedOffers != 1 || q.Today.DeclinedOffers != 1) {
			t.Errorf("queue: missed %d declined %d, want 1 and 1", q.Today.MissedOffers, q.Today.DeclinedOffers)
		}
	}
	got := map[string][2]int{}
	for _, a := range b.Agents {
		got[a.ID] = [2]int{a.MissedOffers, a.Declined}
	}
	if got["ana"] != [2]int{0, 1} || got["bob"] != [2]int{1, 0} {
		t.Errorf("agents (missed, declined): %v", got)
	}
}
