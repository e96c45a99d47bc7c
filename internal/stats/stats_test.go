package stats

import (
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func thresholds(q string) Thresholds {
	if q == "billing" {
		return Thresholds{ServiceLevel: 30 * time.Second, ShortAbandon: 5 * time.Second}
	}
	return Thresholds{ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second}
}

// fixture is a morning in the support queue, computed by hand below.
func fixture() []Event {
	ev := func(typ EventType, conv string, s int) Event {
		return Event{Type: typ, ConversationID: conv, Queue: "support", Channel: "chat", At: at(s)}
	}
	est := func(conv string, s int, high time.Duration) Event {
		e := ev(Estimated, conv, s)
		e.EstimateLow, e.EstimateHigh = high/2, high
		return e
	}
	transfer := ev(Transferred, "c7", 40)
	transfer.ToQueue = "billing"
	acceptBilling := ev(Accepted, "c7", 50)
	acceptBilling.Queue = "billing"
	return []Event{
		ev(Enqueued, "c1", 0), est("c1", 0, 60*time.Second),
		ev(Enqueued, "c2", 5),
		ev(Enqueued, "c3", 10),
		ev(Accepted, "c1", 10), // wait 10 s: within SL, within the promise
		ev(Enqueued, "c4", 15),
		ev(Enqueued, "c5", 20),
		ev(Enqueued, "c6", 25), est("c6", 25, 30*time.Second),
		ev(Offered, "c6", 26), ev(Declined, "c6", 30),
		ev(Enqueued, "c7", 30),
		ev(Offered, "c6", 31),
		ev(Abandoned, "c4", 30), // waited 15 s: counted, within SL
		ev(Abandoned, "c3", 13), // waited 3 s: a short abandon
		transfer,                // c7 leaves support for billing, wait clock keeps running
		ev(Accepted, "c2", 45),  // wait 40 s: outside SL
		ev(Expired, "c6", 50),
		acceptBilling,           // c7 answered in billing after 20 s in all: within billing's 30 s
		ev(Closed, "c1", 70),    // handled 60 s
		ev(Abandoned, "c5", 80), // waited 60 s: outside SL
		ev(Accepted, "c6", 85),  // wait 60 s: outside SL and past the 30 s promise
		ev(Closed, "c2", 125),   // handled 80 s
	}
}

func fold(events []Event) *Folder {
	f := NewFolder(time.Minute, thresholds)
	for _, e := range events {
		f.Apply(e)
	}
	return f
}

func TestFiguresMatchHandComputedFixture(t *testing.T) {
	t.Parallel()
	sums := fold(fixture()).Sum(t0, t0.Add(time.Hour), "", "")
	support := sums[Key{"support", "chat"}]
	want := Counts{
		Entered: 7, Offered: 2, Answered: 3, AnsweredInSL: 1,
		Abandoned: 2, AbandonedInSL: 1, ShortAbandoned: 1, TransferredOut: 1,
		MissedOffers: 1, Declined: 1, Closed: 2, TotalWait: 110 * time.Second, TotalHandle: 140 * time.Second,
		EstimatesGiven: 2, EstimatesKept: 1, LongestAnswerWait: 60 * time.Second,
	}
	if support != want {
		t.Fatalf("support:\n got %+v\nwant %+v", support, want)
	}
	checks := []struct {
		desc string
		got  float64
		want float64
	}{
		{"ASA seconds", support.ASA().Seconds(), 110.0 / 3},
		{"service level", must(support.ServiceLevel()), 1.0 / 3},
		{"service level with abandons", must(support.ServiceLevelWithAbandons()), 2.0 / 5},
		{"abandon rate", must(support.AbandonRate()), 2.0 / 7},
		{"AHT seconds", support.AHT().Seconds(), 70},
		{"estimate accuracy", must(support.EstimateAccuracy()), 0.5},
	}
	for _, c := range checks {
		if diff := c.got - c.want; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s = %v, want %v", c.desc, c.got, c.want)
		}
	}
	billing := sums[Key{"billing", "chat"}]
	if billing.Entered != 1 || billing.Answered != 1 || billing.AnsweredInSL != 1 || billing.TotalWait != 20*time.Second {
		t.Fatalf("billing: %+v", billing)
	}
}

func must(v float64, ok bool) float64 {
	if !ok {
		return -1
	}
	return v
}

func TestNoAnswersMeansNoFigureNotAPerfectOne(t *testing.T) {
	t.Parallel()
	var c Counts
	if _, ok := c.ServiceLevel(); ok {
		t.Fatal("service level with nothing answered must say so")
	}
	if _, ok := c.ServiceLevelWithAbandons(); ok {
		t.Fatal("SL2 with nothing answered or abandoned must say so")
	}
	if c.ASA() != 0 || c.AHT() != 0 {
		t.Fatal("averages of nothing must be zero")
	}
}

func TestRestartRebuildsTheSameFigures(t *testing.T) {
	t.Parallel()
	events := fixture()
	whole := fold(events).Sum(t0, t0.Add(time.Hour), "", "")
	// A gateway that restarts halfway folds the stream again from the start
	// and must land on the same figures as one that never stopped.
	first := NewFolder(time.Minute, thresholds)
	for _, e := range events[:len(events)/2] {
		first.Apply(e)
	}
	if reflect.DeepEqual(first.Sum(t0, t0.Add(time.Hour), "", ""), whole) {
		t.Fatal("half the stream already gives the whole figures: the fixture proves nothing")
	}
	restarted := fold(events).Sum(t0, t0.Add(time.Hour), "", "")
	if !reflect.DeepEqual(whole, restarted) {
		t.Fatalf("restart changed figures:\n%+v\n%+v", whole, restarted)
	}
}

func TestTwoGatewaysAgree(t *testing.T) {
	t.Parallel()
	a := fold(fixture()).Sum(t0, t0.Add(time.Hour), "support", "")
	b := fold(fixture()).Sum(t0, t0.Add(time.Hour), "support", "")
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same events folded twice disagree")
	}
}

func TestEventsFromBeforeTheWindowUseTheCarriedEnqueueTime(t *testing.T) {
	t.Parallel()
	f := NewFolder(time.Minute, thresholds)
	f.Apply(Event{Type: Accepted, ConversationID: "old", Queue: "support", Channel: "sms", At: at(100), EnqueuedAt: at(90)})
	c := f.Sum(t0, t0.Add(time.Hour), "", "")[Key{"support", "sms"}]
	if c.Answered != 1 || c.TotalWait != 10*time.Second || c.AnsweredInSL != 1 {
		t.Fatalf("%+v", c)
	}
}

func TestSeriesAndWaiting(t *testing.T) {
	t.Parallel()
	f := fold(fixture())
	rows := f.Series(t0, t0.Add(time.Hour), time.Minute, "support")
	if len(rows) != 3 {
		t.Fatalf("want rows for minutes 0, 1 and 2, got %d: %+v", len(rows), rows)
	}
	var answered int
	for i, r := range rows {
		if i > 0 && !rows[i-1].Start.Before(r.Start) {
			t.Fatal("rows not oldest first")
		}
		answered += r.Answered
	}
	if answered != 3 {
		t.Fatalf("answered across rows = %d, want 3", answered)
	}
	g := NewFolder(time.Minute, thresholds)
	g.Apply(Event{Type: Enqueued, ConversationID: "w1", Queue: "support", Channel: "sms", At: at(0)})
	g.Apply(Event{Type: Enqueued, ConversationID: "w2", Queue: "support", Channel: "sms", At: at(5)})
	g.Apply(Event{Type: Accepted, ConversationID: "w2", Queue: "support", Channel: "sms", At: at(9)})
	if w := g.Waiting(); len(w) != 1 || !w[0].EnqueuedAt.Equal(at(0)) {
		t.Fatalf("waiting = %+v", w)
	}
	g.Prune(t0.Add(time.Hour))
	if len(g.Sum(t0, t0.Add(time.Hour), "", "")) != 0 {
		t.Fatal("prune kept old intervals")
	}
}
