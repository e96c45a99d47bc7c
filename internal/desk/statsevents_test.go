package desk

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/stats"
	"github.com/switchboard/switchboard/routing"
)

// stats keeps its own names for the routing events it folds, so that it
// does not depend on routing; statsEvent converts by value. A renamed
// routing event would silently stop counting: each name must match.
func TestStatsEventNamesAreRoutings(t *testing.T) {
	for s, r := range map[stats.EventType]routing.EventType{
		stats.Enqueued:              routing.EventEnqueued,
		stats.Offered:               routing.EventOffered,
		stats.Accepted:              routing.EventAccepted,
		stats.Declined:              routing.EventDeclined,
		stats.Expired:               routing.EventExpired,
		stats.Abandoned:             routing.EventAbandoned,
		stats.Closed:                routing.EventClosed,
		stats.Transferred:           routing.EventTransferred,
		stats.Estimated:             routing.EventEstimated,
		stats.AgentStateChanged:     routing.EventAgentState,
		stats.AgentAwayMissedOffers: routing.EventAgentAwayMissedOffers,
	} {
		if got := statsEvent(routing.Event{Type: r}).Type; got != s {
			t.Errorf("routing %q arrives in stats as %q, which it calls %q", r, got, s)
		}
	}
}

// Only routing's CauseClosed makes an abandon a close in the queue for the
// figures; the customer's, and one of a stream written before abandons had
// a cause, stay abandons.
func TestStatsTellAStaffCloseFromACustomersAbandon(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cause routing.AbandonCause
		want  bool
	}{
		{routing.CauseClosed, true},
		{routing.CauseCustomer, false},
		{"", false},
	} {
		got := statsEvent(routing.Event{Type: routing.EventAbandoned, Cause: c.cause}).ClosedInQueue
		if got != c.want {
			t.Errorf("abandoned with cause %q: closed in queue %v, want %v", c.cause, got, c.want)
		}
	}
}

// TestTheFiguresDoNotCountASupervisorsCloseAsAnAbandon follows two waiting
// conversations from the desk to the supervisor's figures, through routing's
// stream: one a supervisor closes as spam, one whose customer leaves. Only
// the second is an abandon.
func TestTheFiguresDoNotCountASupervisorsCloseAsAnAbandon(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	spam, _ := e.conversation(ana, Waiting)
	left, _ := e.conversation(ana, Waiting)
	if _, err := e.desk.Close(ctx, sam, spam, "spam"); err != nil {
		t.Fatal(err)
	}
	if err := e.desk.Abandon(ctx, left); err != nil {
		t.Fatal(err)
	}

	// Every abandon counts, however quick: these waited milliseconds.
	s, err := stats.New(stats.Config{Source: StatsSource{Engine: e.engine}, ShortAbandon: time.Nanosecond,
		Queues: []stats.QueueInfo{{Name: "support", Channels: []string{"sms"}}}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	evs, err := e.engine.Events(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1].ID
	for deadline := time.Now().Add(5 * time.Second); s.Figures().LastEventID != last; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the figures did not fold up to %s", last)
		}
	}
	for _, q := range s.Figures().Queues {
		if q.Queue != "support" {
			continue
		}
		if f := q.Today; f.Offered != 2 || f.Abandoned != 1 || f.ShortAbandoned != 0 || f.ClosedInQueue != 1 ||
			f.AbandonRate == nil || *f.AbandonRate != 1 {
			t.Errorf("support today: %+v; want 2 entered, 1 abandoned, 1 closed in the queue, abandon rate 100 %%", f)
		}
		return
	}
	t.Fatal("no support queue on the board")
}
