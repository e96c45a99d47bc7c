package conversation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

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

// TestOfferedAndAcceptedReturnWhatAConsoleShows: the scripts that record
// an offer and an accept return the customer (followed through a merge)
// and the lines a console shows, equal to what reading them afterwards
// gives, in their one round trip; a change that changes nothing returns
// none.
func TestOfferedAndAcceptedReturnWhatAConsoleShows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	s := e.svc
	survivor, err := s.Receive(ctx, sms("+14155550150", "first", "SMbeside1"))
	if err != nil {
		t.Fatal(err)
	}
	merged, err := s.Receive(ctx, sms("+14155550151", "my parcel", "SMbeside2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Merge(ctx, survivor.CustomerID, merged.CustomerID); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, survivor.CustomerID, "vip", true); err != nil {
		t.Fatal(err)
	}
	trips := &redistest.Counter{}
	e.rdb.AddHook(trips)
	check := func(what string, conv Conversation, b *Beside) {
		t.Helper()
		if n := trips.Trips.Load(); n != 1 {
			t.Errorf("%s: %d round trips, want 1", what, n)
		}
		if b == nil {
			t.Fatalf("%s: nothing beside the record", what)
		}
		want, err := s.Customer(ctx, conv.CustomerID)
		if err != nil || b.CustomerErr != nil {
			t.Fatal(err, b.CustomerErr)
		}
		if b.Customer.ID != survivor.CustomerID || b.Customer.ID != want.ID || b.Customer.Name != want.Name ||
			!slices.Equal(b.Customer.Identities, want.Identities) || !slices.Equal(b.Customer.Tags, want.Tags) {
			t.Errorf("%s: customer %+v, read afterwards %+v", what, b.Customer, want)
		}
		recent, err := s.Recent(ctx, conv.ID, 20)
		if err != nil {
			t.Fatal(err)
		}
		wantCustomer, wantSaid := LastLines(recent)
		for _, l := range []struct {
			name      string
			got, want *Entry
		}{{"last customer line", b.LastCustomer, wantCustomer}, {"last line said", b.LastSaid, wantSaid}} {
			if l.got == nil || l.want == nil {
				t.Fatalf("%s: %s %+v, read afterwards %+v", what, l.name, l.got, l.want)
			}
			if l.got.ID != l.want.ID || l.got.Type != l.want.Type || l.got.Text != l.want.Text {
				t.Errorf("%s: %s %+v, read afterwards %+v", what, l.name, *l.got, *l.want)
			}
		}
	}
	trips.Reset()
	conv, b, err := s.OfferedBeside(ctx, merged.ConversationID, "ana", time.Now(), 20)
	if err != nil {
		t.Fatal(err)
	}
	check("offered", conv, b)
	if conv.State != StateOffered || conv.AgentID != "ana" {
		t.Errorf("offered: record %+v", conv)
	}
	if b.LastCustomer.Text != "my parcel" || b.LastSaid.Text != "my parcel" {
		t.Errorf("offered: shows %q and %q, want the customer's message for both", b.LastCustomer.Text, b.LastSaid.Text)
	}
	// An agent's reply is the last line said; a note, which the customer
	// never saw, is not.
	if _, err := s.Reply(ctx, merged.ConversationID, "ana", "on its way", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Note(ctx, merged.ConversationID, "ana", "checked the depot"); err != nil {
		t.Fatal(err)
	}
	trips.Reset()
	conv, b, err = s.AcceptedBeside(ctx, merged.ConversationID, "ana", time.Now(), 20)
	if err != nil {
		t.Fatal(err)
	}
	check("accepted", conv, b)
	if conv.State != StateActive {
		t.Errorf("accepted: record %+v", conv)
	}
	if b.LastCustomer.Text != "my parcel" || b.LastSaid.Text != "on its way" {
		t.Errorf("accepted: shows %q and %q, want the customer's message and the reply", b.LastCustomer.Text, b.LastSaid.Text)
	}
	if err := s.Abandon(ctx, survivor.ConversationID); err != nil {
		t.Fatal(err)
	}
	if _, b, err := s.OfferedBeside(ctx, survivor.ConversationID, "ana", time.Now(), 3); !errors.Is(err, ErrClosed) || b != nil {
		t.Errorf("offering a closed conversation: %v, %+v", err, b)
	}
}

// TestOfferedFindsTheCustomerLineAnywhereItLooks: the script reads the
// transcript's tail a few entries at a time; the customer's message is
// found wherever it sits among the entries it may look through (the first
// batch, a later one, the very last), and not beyond them, as reading
// those entries afterwards finds it.
func TestOfferedFindsTheCustomerLineAnywhereItLooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newEnv(t, nil).svc
	for i, tc := range []struct{ notes, recent int }{
		{0, 20}, {1, 20}, {2, 20}, {7, 20}, {17, 20}, {18, 20}, {0, 3}, {1, 3}, {0, 2},
	} {
		// After the offer, the customer's line is behind it, the notes and
		// the line that says it was queued: the (notes+3)th newest.
		rc, err := s.Receive(ctx, sms(fmt.Sprintf("+1415555%04d", 300+i), "where is it", fmt.Sprintf("SManywhere%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < tc.notes; n++ {
			if _, err := s.Note(ctx, rc.ConversationID, "ana", fmt.Sprintf("note %d", n)); err != nil {
				t.Fatal(err)
			}
		}
		_, b, err := s.OfferedBeside(ctx, rc.ConversationID, "ana", time.Now(), tc.recent)
		if err != nil {
			t.Fatal(err)
		}
		recent, err := s.Recent(ctx, rc.ConversationID, tc.recent)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := LastLines(recent)
		wantFound := tc.notes+3 <= tc.recent
		switch {
		case (b.LastCustomer != nil) != wantFound || (want != nil) != wantFound:
			t.Errorf("%d notes, looking through %d: found %v, read afterwards %v, want found=%v",
				tc.notes, tc.recent, b.LastCustomer, want, wantFound)
		case wantFound && (b.LastCustomer.ID != want.ID || b.LastCustomer.Text != "where is it"):
			t.Errorf("%d notes, looking through %d: found %+v, want %+v", tc.notes, tc.recent, *b.LastCustomer, *want)
		}
	}
}
