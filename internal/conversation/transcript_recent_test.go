package conversation

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/internal/redistest"
)

func TestRecentReturnsTheLastEntriesOldestFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newEnv(t, nil).svc
	rc, err := s.Receive(ctx, sms("+14155550100", "m0", "SMrecent0"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 30; i++ {
		if _, err := s.Receive(ctx, sms("+14155550100", fmt.Sprintf("m%d", i), fmt.Sprintf("SMrecent%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Recent(ctx, rc.ConversationID, 5)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range got {
		if e.Type == EntryCustomer {
			texts = append(texts, e.Text)
		}
	}
	if fmt.Sprint(texts) != "[m25 m26 m27 m28 m29]" {
		t.Fatalf("recent customer texts %v", texts)
	}
}

// TestCustomerAndRecentInOneRoundTrip: a console's view of a conversation
// (its customer and last lines) is one round trip, and answers what the
// two reads alone answer, also for a customer merged into another.
func TestCustomerAndRecentInOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	s := e.svc
	first, err := s.Receive(ctx, sms("+14155550140", "my order is late", "SMglance1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Receive(ctx, sms("+14155550140", "order 1234", "SMglance2")); err != nil {
		t.Fatal(err)
	}
	other, err := s.Receive(ctx, sms("+14155550141", "same person", "SMglance3"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Merge(ctx, first.CustomerID, other.CustomerID); err != nil {
		t.Fatal(err)
	}
	trips := &redistest.Counter{}
	e.rdb.AddHook(trips)
	for _, tc := range []struct{ custID, convID string }{
		{first.CustomerID, first.ConversationID},
		{other.CustomerID, other.ConversationID}, // merged away: followed to the survivor
	} {
		wantCust, err := s.Customer(ctx, tc.custID)
		if err != nil {
			t.Fatal(err)
		}
		wantRecent, err := s.Recent(ctx, tc.convID, 20)
		if err != nil {
			t.Fatal(err)
		}
		trips.Reset()
		rd := s.ReadRecent(tc.convID, 20)
		cust, err := s.CustomerAlong(ctx, tc.custID, rd)
		if err != nil {
			t.Fatal(err)
		}
		recent, err := rd.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := trips.Trips.Load()
		if cust.ID != wantCust.ID || !slices.Equal(cust.Identities, wantCust.Identities) {
			t.Errorf("customer %+v, want %+v", cust, wantCust)
		}
		if len(recent) != len(wantRecent) || recent[len(recent)-1].ID != wantRecent[len(wantRecent)-1].ID {
			t.Errorf("recent %d entries, want %d", len(recent), len(wantRecent))
		}
		want := int64(1)
		if tc.custID != cust.ID {
			want = 3 // the merge is followed: its chain, then the survivor
		}
		if n != want {
			t.Errorf("customer %s: %d round trips, want %d", tc.custID, n, want)
		}
	}
}
