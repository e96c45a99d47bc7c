package promise

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkFireDue measures the due loop: b.N pending promises fall due
// at once and one gateway's Tick claims, fires (a fake router) and
// finishes them, in batches of claimBatch. ns/op is per promise fired.
func BenchmarkFireDue(b *testing.B) {
	r := &fakeRouter{canTake: true}
	c := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	s, err := New(Params{Redis: server.NewClient(b), Workspace: fmt.Sprintf("bench_%d", b.N), Router: r, Now: c.Now, RemindBefore: -1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range b.N {
		if _, err := s.Make(ctx, Request{ConversationID: fmt.Sprintf("cv%d", i), AgentID: "ana", What: "call back", Due: c.Now().Add(time.Hour), Pending: true}); err != nil {
			b.Fatal(err)
		}
	}
	c.Add(time.Hour)
	b.ResetTimer()
	if err := s.Tick(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if len(r.returns) != b.N {
		b.Fatalf("fired %d of %d", len(r.returns), b.N)
	}
}
