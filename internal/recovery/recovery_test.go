package recovery

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/survey"
)

var server *redistest.Server

func TestMain(m *testing.M) {
	os.Exit(redistest.RunPackage(m, redistest.Options{}, &server))
}

var wsSeq atomic.Int64

func workspace(t testing.TB) string {
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), wsSeq.Add(1))
}

type tags struct {
	mu sync.Mutex
	on map[string]bool
}

func (g *tags) Tag(_ context.Context, cust, tag string, on bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.on[cust+"/"+tag] = on
	return nil
}

type alerts struct {
	mu  sync.Mutex
	got []Alert
}

func (a *alerts) RecoveryAlert(_ context.Context, x Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, x)
}

// TestRatingsRaiseAndMeasureRecovery: a 1 raises a case (tag, alert); the
// same customer's next rating of 4 counts as recovered and closes it; a
// 3 after a new low rating counts as not recovered; a 3 alone raises
// nothing; a broken promise raises through the same door; cases end with
// their days and take the tag off.
func TestRatingsRaiseAndMeasureRecovery(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	g, al := &tags{on: map[string]bool{}}, &alerts{}
	s, err := New(Params{Redis: server.NewClient(t), Workspace: workspace(t), Config: Config{Days: 2}, Alerts: al, Tags: g,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rate := func(cust, conv string, score int) {
		t.Helper()
		if err := s.Rated(ctx, survey.Rating{ConversationID: conv, CustomerID: cust, AgentID: "ana", Channel: "sms", Score: score, Comment: "slow", At: now}); err != nil {
			t.Fatal(err)
		}
	}
	rate("cu_1", "cv_1", 1)
	c, ok, err := s.Active(ctx, "cu_1")
	if err != nil || !ok || c.Score != 1 || c.ConversationID != "cv_1" || !c.Until.Equal(now.Add(48*time.Hour)) {
		t.Fatalf("case %+v %v %v", c, ok, err)
	}
	if !g.on["cu_1/recovery"] || len(al.got) != 1 || al.got[0].Message != "Customer rated 1/5 on sms (agent ana): slow" {
		t.Fatalf("tag %v alerts %+v", g.on, al.got)
	}
	rate("cu_2", "cv_2", 3) // at 3, above the threshold: nothing
	if _, ok, _ := s.Active(ctx, "cu_2"); ok || len(al.got) != 1 {
		t.Fatal("a 3 raised a case")
	}
	rate("cu_1", "cv_3", 4) // recovered
	if _, ok, _ := s.Active(ctx, "cu_1"); ok || g.on["cu_1/recovery"] {
		t.Fatal("a recovered customer stays in recovery")
	}
	rate("cu_2", "cv_4", 2)
	rate("cu_2", "cv_5", 3) // rated again, not recovered
	if err := s.Raise(ctx, "cu_3", Reason{Kind: ReasonPromise, ConversationID: "cv_6", Text: "call back by Thu 15:00"}); err != nil {
		t.Fatal(err)
	}
	f, err := s.Figures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Raised[ReasonRating] != 2 || f.Raised[ReasonPromise] != 1 || f.Rated != 2 || f.Recovered != 1 || *f.Rate != 0.5 {
		t.Fatalf("figures %+v", f)
	}
	if _, err := s.Note(ctx, "cu_3", "ana", "Called back, refund sent"); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := s.Active(ctx, "cu_3"); c.Note != "Called back, refund sent" || c.NotedBy != "ana" {
		t.Fatalf("note %+v", c)
	}
	if _, err := s.Note(ctx, "cu_9", "ana", "x"); err != ErrNoCase {
		t.Fatalf("note without a case: %v", err)
	}
	// Two days on, the tags come off (the case keys expire in Redis).
	now = now.Add(49 * time.Hour)
	if err := s.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if g.on["cu_2/recovery"] || g.on["cu_3/recovery"] {
		t.Fatalf("tags after the days: %v", g.on)
	}
}
