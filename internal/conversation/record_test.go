package conversation

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestScriptsReturnTheRecord: offers, accepts, closes and transfers hand
// back the record as their script left it, the closing line carries it to
// the Notifier, and a customer message says whether a pending promise
// parked its conversation (MarkParked), which only an open one can be.
func TestScriptsReturnTheRecord(t *testing.T) {
	t.Parallel()
	n := &recNotifier{}
	e := newEnv(t, func(p *Params) { p.Notifier = n })
	ctx := context.Background()
	r, err := e.svc.Receive(ctx, sms("+14155550102", "hi", "SM1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Receive(ctx, sms("+14155550102", "still there?", "SM2")); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.MarkParked(ctx, r.ConversationID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Receive(ctx, sms("+14155550102", "any news?", "SM3")); err != nil {
		t.Fatal(err)
	}
	var parked []bool
	for _, en := range n.entries {
		if en.Type == EntryCustomer {
			parked = append(parked, en.ParkedOnce)
		}
	}
	if !slices.Equal(parked, []bool{false, false, true}) {
		t.Fatalf("customer entries' ParkedOnce = %v, want [false false true]", parked)
	}
	if err := e.svc.MarkParked(ctx, "cv_nosuchconversation"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("marking an unknown conversation: %v, want ErrNotFound", err)
	}

	now := e.svc.now()
	c, err := e.svc.Offered(ctx, r.ConversationID, "ana", now)
	if err != nil || c.State != StateOffered || c.AgentID != "ana" || c.ID != r.ConversationID {
		t.Fatalf("Offered = %+v, %v; want offered to ana", c, err)
	}
	c, err = e.svc.Accepted(ctx, r.ConversationID, "ana", now)
	if err != nil || c.State != StateActive || c.AnsweredAt.IsZero() {
		t.Fatalf("Accepted = %+v, %v; want active, answered", c, err)
	}
	c, err = e.svc.Transfer(ctx, c, TransferRequest{ConversationID: r.ConversationID, FromAgentID: "ana", ToAgentID: "bo"})
	if err != nil || c.State != StateOffered || c.AgentID != "bo" {
		t.Fatalf("Transfer = %+v, %v; want offered to bo", c, err)
	}
	c, err = e.svc.RecordClose(ctx, r.ConversationID, Closing{By: "bo", Disposition: "resolved"})
	if err != nil || c.State != StateClosed || c.Disposition != "resolved" {
		t.Fatalf("RecordClose = %+v, %v; want closed, resolved", c, err)
	}
	last := n.entries[len(n.entries)-1]
	if last.Event != "closed" || last.Record == nil || last.Record.Disposition != "resolved" || last.Record.State != StateClosed {
		t.Fatalf("closing line = %+v, want it to carry the closed record", last)
	}
	// Closing again changes nothing and still answers with the record.
	if c, err = e.svc.RecordClose(ctx, r.ConversationID, Closing{By: "bo", Disposition: "spam"}); err != nil || c.Disposition != "resolved" {
		t.Fatalf("second RecordClose = %+v, %v; want the first close kept", c, err)
	}
	if back, err := e.svc.Transcript(ctx, r.ConversationID, "", 0); err != nil || back[len(back)-1].Record != nil {
		t.Fatalf("closing line read back carries a record (%v)", err)
	}
	if err := e.svc.MarkParked(ctx, r.ConversationID); !errors.Is(err, ErrClosed) {
		t.Fatalf("marking a closed conversation parked: %v, want ErrClosed", err)
	}
}

// along is a read riding in ConversationAlong's pipeline, on client c.
type along struct {
	c   redis.UniversalClient
	key string
	cmd *redis.StringCmd
}

func (a *along) Pipe(ctx context.Context, c redis.UniversalClient, p redis.Pipeliner) bool {
	if c != a.c {
		return false
	}
	a.cmd = p.Get(ctx, a.key)
	return true
}

func TestConversationAlong(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	r, err := e.svc.Receive(ctx, sms("+14155550103", "hi", "SM1"))
	if err != nil {
		t.Fatal(err)
	}
	key := e.params.Workspace + ":along-test"
	if err := e.rdb.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	same := &along{c: e.rdb, key: key}
	c, err := e.svc.ConversationAlong(ctx, r.ConversationID, same)
	if err != nil || c.ID != r.ConversationID {
		t.Fatalf("ConversationAlong = %+v, %v", c, err)
	}
	if same.cmd == nil || same.cmd.Val() != "v" {
		t.Fatalf("the read along was not made in the pipeline: %v", same.cmd)
	}
	// Another client's read is left to make its own round trip.
	other := &along{c: server.Connect(t), key: key}
	if c, err := e.svc.ConversationAlong(ctx, r.ConversationID, other); err != nil || c.ID != r.ConversationID || other.cmd != nil {
		t.Fatalf("ConversationAlong with another client = %+v, %v, queued %v", c, err, other.cmd)
	}
	if _, err := e.svc.ConversationAlong(ctx, "cv_none", same); err == nil {
		t.Fatal("ConversationAlong of an unknown conversation succeeded")
	}
}

// TestReceivedMessageCarriesItsAuthor: a customer message handed to the
// Notifier carries what a console names its author by, as a read of the
// customer would give it, also after a merge and a rename: their
// identities while they have no name, their name once they have one.
func TestReceivedMessageCarriesItsAuthor(t *testing.T) {
	t.Parallel()
	n := &recNotifier{}
	e := newEnv(t, func(p *Params) { p.Notifier = n })
	ctx := context.Background()
	first, err := e.svc.Receive(ctx, sms("+14155550150", "hello", "SMauthor1"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.svc.Receive(ctx, sms("+14155550151", "me again", "SMauthor2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Merge(ctx, first.CustomerID, other.CustomerID); err != nil {
		t.Fatal(err)
	}
	lastAuthor := func() *Customer {
		t.Helper()
		n.mu.Lock()
		defer n.mu.Unlock()
		for i := len(n.entries) - 1; i >= 0; i-- {
			if n.entries[i].Type == EntryCustomer {
				if n.entries[i].Customer == nil {
					t.Fatalf("customer entry %+v without its author", n.entries[i])
				}
				return n.entries[i].Customer
			}
		}
		t.Fatal("no customer entry")
		return nil
	}
	// From the merged-away number: the survivor is the author.
	if _, err := e.svc.Receive(ctx, sms("+14155550151", "any news?", "SMauthor3")); err != nil {
		t.Fatal(err)
	}
	want, err := e.svc.Customer(ctx, first.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if got := lastAuthor(); got.ID != want.ID || got.Name != "" || !slices.Equal(got.Identities, want.Identities) || len(got.Identities) != 2 {
		t.Fatalf("nameless author %+v, want %+v with both numbers", *got, want)
	}
	if _, err := e.svc.UpdateCustomer(ctx, first.CustomerID, CustomerUpdate{Name: ptr("Dana Ruiz"), Tags: &[]string{"vip", "billing"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Receive(ctx, sms("+14155550151", "hello?", "SMauthor4")); err != nil {
		t.Fatal(err)
	}
	if got := lastAuthor(); got.ID != want.ID || got.Name != "Dana Ruiz" {
		t.Fatalf("named author %+v, want %s named Dana Ruiz", *got, want.ID)
	}
}

// TestAbsentTimesDecodeWithoutAllocating: a record's unset times are read
// without building a parse error each time; set ones are read right, and
// so is an entry's attempt; an event without one decodes without allocating.
func TestAbsentTimesDecodeWithoutAllocating(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = fromMS("") }); n != 0 {
		t.Fatalf("%.0f allocations to read an absent time", n)
	}
	if got := fromMS("1700000000000"); got.UnixMilli() != 1700000000000 {
		t.Fatalf("a present time read as %v", got)
	}
	if e := entryFromStream("1-0", map[string]any{"type": "agent", "attempt": "2"}); e.Attempt != 2 {
		t.Fatalf("attempt read as %d", e.Attempt)
	}
	if e := entryFromStream("1-0", map[string]any{"type": "system"}); e.Attempt != 0 {
		t.Fatalf("an entry without attempt read as %d", e.Attempt)
	}
	ev := map[string]any{"type": EventMessageReceived, "conv": "c1", "at": "1700000000000"}
	if n := testing.AllocsPerRun(100, func() { _ = EventFrom("1-0", ev) }); n != 0 {
		t.Fatalf("%.0f allocations to decode an event without an attempt", n)
	}
	ev["attempt"] = "3"
	if e := EventFrom("1-0", ev); e.Attempt != 3 || e.ConversationID != "c1" {
		t.Fatalf("event read as %+v", e)
	}
}
