package conversation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/internal/channel"
)

// openConvs receives a first SMS from a new number per conversation.
func openConvs(t *testing.T, e *env, n, from int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		r, err := e.svc.Receive(context.Background(), sms(fmt.Sprintf("+1415556%04d", from+i), "hi", ""))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = r.ConversationID
	}
	return ids
}

// listAll pages through q and fails on a repeated conversation.
func listAll(t *testing.T, e *env, q ListQuery) []string {
	t.Helper()
	var ids []string
	seen := map[string]bool{}
	for range 10_000 {
		page, err := e.svc.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Conversations {
			if seen[c.ID] {
				t.Fatalf("%s returned twice", c.ID)
			}
			seen[c.ID] = true
			ids = append(ids, c.ID)
		}
		if page.Next == "" {
			return ids
		}
		q.Cursor = page.Next
	}
	t.Fatal("paging did not end")
	return nil
}

// newestFirst orders ids as List does: by creation time, then id, both
// descending. Conversations opened back to back often share a millisecond,
// so the order of ids as created is not the order List owes.
func newestFirst(t *testing.T, e *env, ids ...string) []string {
	t.Helper()
	created := map[string]int64{}
	for _, id := range ids {
		c, err := e.svc.Conversation(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		created[id] = c.CreatedAt.UnixMilli()
	}
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b string) int {
		if d := created[b] - created[a]; d != 0 {
			return int(d)
		}
		return strings.Compare(b, a)
	})
	return out
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	ids := openConvs(t, e, 6, 0)
	at := time.Now()
	// 0, 1: ana active; 2: bo offered; 3: ana closed; 4, 5 queued.
	for _, id := range ids[:2] {
		if _, err := e.svc.Accepted(ctx, id, "ana", at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.Offered(ctx, ids[2], "bo", at); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Accepted(ctx, ids[3], "ana", at); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.OnClosed(ctx, ids[3], Closing{Holder: "ana", Disposition: "resolved"}, at); err != nil {
		t.Fatal(err)
	}
	// A transfer to another queue moves it out of ana's hands.
	if err := e.svc.OnTransferred(ctx, ids[1], "ana", "billing", "", at); err != nil {
		t.Fatal(err)
	}
	cust, err := e.svc.Conversation(ctx, ids[4])
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		desc string
		q    ListQuery
		want []string
	}{
		{"everything, newest first", ListQuery{}, newestFirst(t, e, ids...)},
		{"mine open", ListQuery{AgentID: "ana", States: ParseStates("open")}, []string{ids[0]}},
		{"closed by me", ListQuery{AgentID: "ana", States: []State{StateClosed}}, []string{ids[3]}},
		{"offered to bo", ListQuery{AgentID: "bo"}, []string{ids[2]}},
		{"queue", ListQuery{Queue: "billing"}, []string{ids[1]}},
		{"queued", ListQuery{States: []State{StateQueued}}, newestFirst(t, e, ids[5], ids[4], ids[1])},
		{"channel", ListQuery{Channel: channel.SMS, Limit: 2}, newestFirst(t, e, ids...)},
		{"other channel", ListQuery{Channel: channel.Chat}, nil},
		{"customer", ListQuery{CustomerID: cust.CustomerID}, []string{ids[4]}},
		{"unknown customer", ListQuery{CustomerID: "cu_nobody"}, nil},
		{"updated since now", ListQuery{UpdatedSince: time.Now().Add(time.Hour)}, nil},
		{"updated since before", ListQuery{UpdatedSince: at.Add(-time.Hour), States: []State{StateClosed}}, []string{ids[3]}},
	}
	for _, tc := range cases {
		got := listAll(t, e, tc.q)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.desc, got, tc.want)
		}
	}

	// A reply marks the record updated; the filter sees it.
	mark := time.Now()
	time.Sleep(2 * time.Millisecond)
	if _, err := e.svc.Note(ctx, ids[0], "ana", "checking"); err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, e, ListQuery{UpdatedSince: mark}); !slices.Equal(got, []string{ids[0]}) {
		t.Fatalf("updated since the note: %v", got)
	}
	c, _ := e.svc.Conversation(ctx, ids[0])
	if c.UpdatedAt.Before(mark) {
		t.Fatalf("updated_at %v before the note at %v", c.UpdatedAt, mark)
	}

	for _, q := range []ListQuery{{Limit: MaxListLimit + 1}, {Limit: -1}, {Cursor: "nonsense"}, {Cursor: "1.a b"}, {States: []State{"lost"}}} {
		if _, err := e.svc.List(ctx, q); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", q, err)
		}
	}
}

// Paging while other clients write: every conversation that existed when
// paging began is returned exactly once, whatever happens to it meanwhile.
func TestListStableUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	ids := openConvs(t, e, 400, 0)
	for _, id := range ids[:200] {
		if _, err := e.svc.Accepted(ctx, id, "ana", time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	// Writers start once the first page is read: a conversation created
	// before that is rightly on it, and would not be one of ids.
	begin, stop := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			n := 0
			<-begin
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := ids[rng.IntN(len(ids))]
				var err error
				switch rng.IntN(5) {
				case 0: // a customer writes again (joins the open conversation)
					_, err = e.svc.Receive(ctx, sms(fmt.Sprintf("+1415556%04d", slices.Index(ids, id)), "more", ""))
				case 1:
					_, err = e.svc.Note(ctx, id, "ana", "note")
				case 2:
					_, err = e.svc.Offered(ctx, id, "ana", time.Now())
				case 3: // new conversations arrive
					_, err = e.svc.Receive(ctx, sms(fmt.Sprintf("+1415557%03d%d", n%1000, w), "new", ""))
					n++
				case 4:
					if slices.Index(ids, id) >= 200 {
						err = e.svc.OnClosed(ctx, id, Closing{Disposition: "resolved"}, time.Now())
					}
				}
				if err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		}()
	}

	// Everything, small pages; and ana's (her 200 stay hers throughout:
	// offers and notes by ana keep the agent field).
	all := ListQuery{Limit: 7}
	first, err := e.svc.List(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	seen := []string{}
	for _, c := range first.Conversations {
		seen = append(seen, c.ID)
	}
	all.Cursor = first.Next
	close(begin)
	rest := listAll(t, e, all)
	mine := listAll(t, e, ListQuery{AgentID: "ana", Limit: 9})
	close(stop)
	wg.Wait()
	if writes.Load() < 50 {
		t.Fatalf("only %d writes happened while paging", writes.Load())
	}
	got := sorted(append(seen, rest...))
	if !slices.Equal(got, sorted(ids)) {
		t.Fatalf("paging everything returned %d conversations, want the %d that existed (%d writes during paging)", len(got), len(ids), writes.Load())
	}
	// Conversations offered to ana by the writers join her list; the 200
	// she held from the start must each be there once.
	for _, id := range ids[:200] {
		if !slices.Contains(mine, id) {
			t.Fatalf("ana's %s missing from her list", id)
		}
	}
	t.Logf("%d writes during paging", writes.Load())
}

// Conversations created in the same millisecond are told apart by id, so
// small pages neither repeat nor skip them.
func TestListTiesOnCreationTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	ids := openConvs(t, e, 30, 0)
	// Force every conversation onto one creation time.
	for _, id := range ids {
		if err := e.rdb.ZAdd(ctx, e.svc.k.convs(), redis.Z{Score: 1_700_000_000_000, Member: id}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{1, 4, 29, 30, 200} {
		if got := listAll(t, e, ListQuery{Limit: limit}); !slices.Equal(sorted(got), sorted(ids)) {
			t.Fatalf("limit %d: %d conversations", limit, len(got))
		}
	}
}
