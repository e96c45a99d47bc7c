package conversation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/redistest"
)

func TestReceiveDedupConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	receipts := make([]channel.Receipt, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			receipts[i], errs[i] = e.svc.Receive(ctx, sms("+1 (415) 555-0101", "hello", "SM1"))
		}()
	}
	wg.Wait()
	dups := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("delivery %d: %v", i, errs[i])
		}
		if receipts[i].Duplicate {
			dups++
		}
		if receipts[i].ConversationID != receipts[0].ConversationID || receipts[i].MessageID != receipts[0].MessageID {
			t.Fatalf("delivery %d answered %+v, first %+v", i, receipts[i], receipts[0])
		}
	}
	if dups != n-1 {
		t.Fatalf("duplicates = %d, want %d", dups, n-1)
	}
	tr, err := e.svc.Transcript(ctx, receipts[0].ConversationID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	customer := 0
	for _, en := range tr {
		if en.Type == EntryCustomer {
			customer++
		}
	}
	if customer != 1 {
		t.Fatalf("customer messages in transcript = %d, want 1: %+v", customer, tr)
	}
	if got := e.router.enqueuedIDs(); len(got) != 1 {
		t.Fatalf("enqueued %v, want one conversation", got)
	}
}

func TestReceiveThreading(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()

	r1, err := e.svc.Receive(ctx, sms("+14155550101", "one", "SM1"))
	if err != nil {
		t.Fatal(err)
	}
	if !r1.NewConversation || r1.Returning {
		t.Fatalf("first message: %+v", r1)
	}
	r2, err := e.svc.Receive(ctx, sms("+14155550101", "two", "SM2"))
	if err != nil {
		t.Fatal(err)
	}
	if r2.NewConversation || r2.ConversationID != r1.ConversationID {
		t.Fatalf("second message opened %+v, want join of %s", r2, r1.ConversationID)
	}
	conv, err := e.svc.Conversation(ctx, r1.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if conv.Queue != "sales" || conv.State != StateQueued || !conv.Routed || conv.MessageCount != 2 {
		t.Fatalf("conversation = %+v", conv)
	}
	reqs := e.router.enqueued
	if len(reqs) != 1 || reqs[0].Queue != "sales" || reqs[0].Skills[0] != "en" || reqs[0].Returning {
		t.Fatalf("route requests = %+v", reqs)
	}

	// Closed: the next message opens a new conversation of a returning customer.
	if _, err := e.svc.Close(ctx, r1.ConversationID, "ana", "resolved"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateCustomer(ctx, r1.CustomerID, CustomerUpdate{Tags: &[]string{"VIP"}}); err != nil {
		t.Fatal(err)
	}
	r3, err := e.svc.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: "+14155550101", To: "+19999999999", Text: "three", ProviderID: "SM3"})
	if err != nil {
		t.Fatal(err)
	}
	if !r3.NewConversation || !r3.Returning || r3.CustomerID != r1.CustomerID {
		t.Fatalf("after close: %+v", r3)
	}
	last := e.router.enqueued[len(e.router.enqueued)-1]
	if last.Queue != "default" || !last.VIP || !last.Returning || last.Priority != 0 {
		t.Fatalf("returning VIP route request = %+v", last)
	}

	// Email threads by hint: a reply naming the first mail joins it even
	// while a second thread is open.
	m1, err := e.svc.Receive(ctx, channel.Inbound{Channel: channel.Email, From: "Bo@Example.com", To: "help@us.example", Text: "a", ProviderID: "<a@x>"})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := e.svc.Receive(ctx, channel.Inbound{Channel: channel.Email, From: "bo@example.com", To: "help@us.example", Text: "b", ProviderID: "<b@x>", ThreadHint: "<a@x>"})
	if err != nil {
		t.Fatal(err)
	}
	if m2.ConversationID != m1.ConversationID || m2.CustomerID != m1.CustomerID {
		t.Fatalf("email reply threaded to %+v, want %+v", m2, m1)
	}

	// Voice: each call is its own conversation.
	v1, _ := e.svc.Receive(ctx, channel.Inbound{Channel: channel.Voice, From: "+14155550101", To: "+14155550000", ProviderID: "CA1", ThreadHint: "CA1"})
	v2, _ := e.svc.Receive(ctx, channel.Inbound{Channel: channel.Voice, From: "+14155550101", To: "+14155550000", ProviderID: "CA2", ThreadHint: "CA2"})
	if v1.ConversationID == "" || v1.ConversationID == v2.ConversationID || v1.CustomerID != r1.CustomerID {
		t.Fatalf("voice calls %+v %+v", v1, v2)
	}
}

// The same person by phone, then by email; an agent merges them: one
// customer, two conversations, one history; new mail joins the merged
// customer.
func TestThreadingAcrossChannelsAfterMerge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	p, err := e.svc.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: "+14155550101", To: "+14155550000", Name: "Bo", Text: "hi", ProviderID: "SM1"})
	if err != nil {
		t.Fatal(err)
	}
	// History is newest first by creation millisecond; give the second
	// conversation its own so the order below is the order of arrival.
	time.Sleep(2 * time.Millisecond)
	m, err := e.svc.Receive(ctx, channel.Inbound{Channel: channel.Email, From: "bo@example.com", To: "help@us.example", Text: "hi again", ProviderID: "<1@x>"})
	if err != nil {
		t.Fatal(err)
	}
	if p.CustomerID == m.CustomerID {
		t.Fatal("different addresses resolved to one customer before any merge")
	}
	if _, err := e.svc.UpdateCustomer(ctx, m.CustomerID, CustomerUpdate{Notes: ptr("prefers email"), Tags: &[]string{"vip"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Accepted(ctx, m.ConversationID, "ana", e.svc.now()); err != nil {
		t.Fatal(err)
	}

	c, err := e.svc.Merge(ctx, p.CustomerID, m.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != p.CustomerID || len(c.Identities) != 2 || c.Name != "Bo" || c.Notes != "prefers email" || len(c.Tags) != 1 || c.LastAgentID != "ana" {
		t.Fatalf("merged customer = %+v", c)
	}
	// The old id resolves to the survivor.
	if old, err := e.svc.Customer(ctx, m.CustomerID); err != nil || old.ID != p.CustomerID {
		t.Fatalf("old id resolves to %+v, %v", old, err)
	}
	h, err := e.svc.History(ctx, m.CustomerID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if h.Total != 2 || len(h.Conversations) != 2 || h.Conversations[0].ID != m.ConversationID || h.Conversations[1].ID != p.ConversationID {
		t.Fatalf("history = %+v", h)
	}
	for _, cv := range h.Conversations {
		if cv.CustomerID != p.CustomerID {
			t.Fatalf("conversation %s still on customer %s", cv.ID, cv.CustomerID)
		}
	}
	// New mail from the merged address joins the open email conversation,
	// under the surviving customer.
	m2, err := e.svc.Receive(ctx, channel.Inbound{Channel: channel.Email, From: "bo@example.com", To: "help@us.example", Text: "more", ProviderID: "<2@x>"})
	if err != nil {
		t.Fatal(err)
	}
	if m2.CustomerID != p.CustomerID || m2.ConversationID != m.ConversationID {
		t.Fatalf("after merge: %+v", m2)
	}
	// Paging: one per page, newest first.
	pg, err := e.svc.History(ctx, p.CustomerID, 1, 1)
	if err != nil || len(pg.Conversations) != 1 || pg.Conversations[0].ID != p.ConversationID || pg.Next != -1 {
		t.Fatalf("page 2 = %+v, %v", pg, err)
	}
	// Linking an address someone else has merges them too.
	other, _ := e.svc.Receive(ctx, channel.Inbound{Channel: channel.Chat, From: "visitor-7", To: "site", Text: "yo", ProviderID: "f1"})
	c, err = e.svc.LinkIdentity(ctx, p.CustomerID, channel.Chat, "visitor-7")
	if err != nil || len(c.Identities) != 3 {
		t.Fatalf("link = %+v, %v", c, err)
	}
	if got, _ := e.svc.History(ctx, other.CustomerID, 0, 0); got.Total != 3 {
		t.Fatalf("history after link = %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }

func TestReceiveInvalidAndUnrouted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	_, err := e.svc.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: "555-0101", ProviderID: "x"})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "from" || !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad phone: %v", err)
	}
	// Routing down: the message is stored and acknowledged; Run enqueues later.
	e.router.failNext = 1
	r, err := e.svc.Receive(ctx, sms("+14155550101", "hi", "SM1"))
	if err != nil {
		t.Fatal(err)
	}
	if conv, _ := e.svc.Conversation(ctx, r.ConversationID); conv.Routed {
		t.Fatal("routed although routing failed")
	}
	e.run(t)
	eventually(t, "re-enqueue", func() bool {
		conv, _ := e.svc.Conversation(ctx, r.ConversationID)
		return conv.Routed && len(e.router.enqueuedIDs()) == 1
	})
}

func TestRoutingEvents(t *testing.T) {
	t.Parallel()
	n := &recNotifier{}
	e := newEnv(t, func(p *Params) { p.Notifier = n })
	ctx := context.Background()
	r, _ := e.svc.Receive(ctx, sms("+14155550101", "hi", "SM1"))
	now := e.svc.now()
	steps := []struct {
		desc string
		do   func() error
		want State
	}{
		{"offered", func() error { _, err := e.svc.Offered(ctx, r.ConversationID, "ana", now); return err }, StateOffered},
		{"timeout", func() error { return e.svc.OnOfferLapsed(ctx, r.ConversationID, "ana", "timeout", now) }, StateQueued},
		{"offered again", func() error { _, err := e.svc.Offered(ctx, r.ConversationID, "bob", now); return err }, StateOffered},
		{"accepted", func() error { _, err := e.svc.Accepted(ctx, r.ConversationID, "bob", now); return err }, StateActive},
		{"transferred", func() error {
			conv, err := e.svc.Conversation(ctx, r.ConversationID)
			if err != nil {
				return err
			}
			_, err = e.svc.Transfer(ctx, conv, TransferRequest{ConversationID: r.ConversationID, FromAgentID: "bob", ToQueue: "billing"})
			return err
		}, StateQueued},
		{"closed", func() error { _, err := e.svc.Close(ctx, r.ConversationID, "bob", "resolved"); return err }, StateClosed},
		{"closed twice", func() error {
			return e.svc.OnClosed(ctx, r.ConversationID, Closing{Holder: "bob", Disposition: "other"}, now)
		}, StateClosed},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.desc, err)
		}
		c, _ := e.svc.Conversation(ctx, r.ConversationID)
		if c.State != s.want {
			t.Fatalf("%s: state %s, want %s", s.desc, c.State, s.want)
		}
	}
	c, _ := e.svc.Conversation(ctx, r.ConversationID)
	if c.Queue != "billing" || c.Disposition != "resolved" || c.FirstOfferedAt.IsZero() || c.AnsweredAt.IsZero() || c.ClosedAt.IsZero() {
		t.Fatalf("record = %+v", c)
	}
	if _, err := e.svc.Offered(ctx, r.ConversationID, "cy", now); !errors.Is(err, ErrClosed) {
		t.Fatalf("offer after close: %v", err)
	}
	tr, _ := e.svc.Transcript(ctx, r.ConversationID, "", 0)
	var events []string
	for _, en := range tr {
		if en.Type == EntrySystem {
			events = append(events, en.Event)
		}
	}
	want := []string{"enqueued", "offered", "offer_timeout", "offered", "accepted", "transferred", "closed"}
	if len(events) != len(want) {
		t.Fatalf("events %v, want %v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Fatalf("events %v, want %v", events, want)
		}
	}
	// Resume from an id: only what follows.
	rest, err := e.svc.Transcript(ctx, r.ConversationID, tr[len(tr)-2].ID, 0)
	if err != nil || len(rest) != 1 || rest[0].ID != tr[len(tr)-1].ID {
		t.Fatalf("resume = %+v, %v", rest, err)
	}
	if _, err := e.svc.Transcript(ctx, r.ConversationID, "nope", 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad cursor: %v", err)
	}
	if _, err := e.svc.Transcript(ctx, "cv_missing", "", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if cu, _ := e.svc.Customer(ctx, r.CustomerID); cu.LastAgentID != "bob" {
		t.Fatalf("last agent = %q", cu.LastAgentID)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.entries) != len(tr) {
		t.Fatalf("notified %d entries, transcript has %d", len(n.entries), len(tr))
	}
}

// BenchmarkReceive measures one inbound that opens a conversation (store,
// enqueue, mark routed): two round trips. It uses a server without the
// append-only file, whose fsync per write would dominate.
func BenchmarkReceive(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	rdb := srv.NewClient(b)
	svc, err := New(Params{Redis: rdb, Workspace: "bench_" + newID(""), Router: &fakeRouter{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		in := channel.Inbound{Channel: channel.SMS, From: fmt.Sprintf("+1415%07d", i%10000000), To: "+14155550000", Text: "hi", ProviderID: fmt.Sprint("SM", i)}
		if _, err := svc.Receive(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// Merges racing each other (in a cycle) and inbound messages: in the end
// one customer holds every identity and every conversation.
func TestConcurrentMerges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	addrs := []channel.Inbound{
		{Channel: channel.SMS, From: "+14155550101", To: "x", ProviderID: "a"},
		{Channel: channel.Email, From: "bo@example.com", To: "x", ProviderID: "b"},
		{Channel: channel.Chat, From: "v-1", To: "x", ProviderID: "c"},
	}
	var ids []string
	for _, in := range addrs {
		r, err := e.svc.Receive(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.CustomerID)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range ids {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := e.svc.Merge(ctx, ids[i], ids[(i+1)%len(ids)]); err != nil {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			in := addrs[i]
			in.ProviderID += "-2"
			if _, err := e.svc.Receive(ctx, in); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c, err := e.svc.Customer(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	h, _ := e.svc.History(ctx, ids[2], 0, 0)
	if len(c.Identities) != 3 || h.CustomerID != c.ID || h.Total != 3 {
		t.Fatalf("customer %+v, history %+v", c, h)
	}
	for _, in := range addrs {
		f, err := e.svc.FindCustomer(ctx, in.Channel, in.From)
		if err != nil || f.ID != c.ID {
			t.Fatalf("%s resolves to %+v, %v", in.From, f, err)
		}
	}
}

// smembersCalls is how many SMEMBERS the package's redis-server has run,
// scripts included; on a Redis Cluster, all its primaries together.
func smembersCalls(t *testing.T, rdb redis.UniversalClient) int {
	t.Helper()
	ctx := context.Background()
	count := func(c redis.UniversalClient) int {
		info, err := c.Info(ctx, "commandstats").Result()
		if err != nil {
			t.Error(err)
			return 0
		}
		for _, l := range strings.Split(info, "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "cmdstat_smembers:calls="); ok {
				n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
				return n
			}
		}
		return 0
	}
	var mu sync.Mutex
	total := 0
	if err := redistest.EachPrimary(ctx, rdb, func(_ context.Context, node *redis.Client) error {
		n := count(node)
		mu.Lock()
		total += n
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return total
}

// TestJoiningMessagesReadOnlyWhatTheConsoleUses: a message that joins an
// open conversation reads neither the customer's tags (only routing uses
// them, and the conversation is routed already) nor, when the customer has
// a name, their identities; a nameless customer's message still carries
// the identities a console names them by, and the message that opens a
// conversation still carries the tags routing weighs. Not parallel: it
// counts the commands of the package's whole redis-server.
func TestJoiningMessagesReadOnlyWhatTheConsoleUses(t *testing.T) {
	ctx := context.Background()
	n := &recNotifier{}
	e := newEnv(t, func(p *Params) { p.Notifier = n })
	s := e.svc
	named, err := s.Receive(ctx, sms("+14155550190", "hello", "SMread1"))
	if err != nil {
		t.Fatal(err)
	}
	name, tags := "Ana Lima", []string{"vip"}
	if _, err := s.UpdateCustomer(ctx, named.CustomerID, CustomerUpdate{Name: &name, Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	nameless, err := s.Receive(ctx, sms("+14155550191", "hi", "SMread2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(ctx, nameless.CustomerID, "vip", true); err != nil {
		t.Fatal(err)
	}

	before := smembersCalls(t, e.rdb)
	for i := range 3 {
		if _, err := s.Receive(ctx, sms("+14155550190", "more", fmt.Sprintf("SMread1-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := smembersCalls(t, e.rdb) - before; got != 0 {
		t.Errorf("3 messages of a named customer joining their conversation: %d SMEMBERS, want 0", got)
	}
	before = smembersCalls(t, e.rdb)
	if _, err := s.Receive(ctx, sms("+14155550191", "again", "SMread2-1")); err != nil {
		t.Fatal(err)
	}
	if got := smembersCalls(t, e.rdb) - before; got != 1 {
		t.Errorf("a nameless customer's message: %d SMEMBERS, want 1 (their identities)", got)
	}
	n.mu.Lock()
	last := n.entries[len(n.entries)-1]
	n.mu.Unlock()
	if last.Customer == nil || len(last.Customer.Identities) != 1 || last.Customer.Identities[0] != "phone:+14155550191" {
		t.Errorf("a nameless customer's message names them by %+v, want their phone identity", last.Customer)
	}

	// A closed conversation reopened by the next message is routed again,
	// with the customer's tags.
	if _, err := s.Close(ctx, named.ConversationID, "ana", "resolved"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Receive(ctx, sms("+14155550190", "it broke again", "SMread1-4")); err != nil {
		t.Fatal(err)
	}
	e.router.mu.Lock()
	last2 := e.router.enqueued[len(e.router.enqueued)-1]
	e.router.mu.Unlock()
	if last2.CustomerID != named.CustomerID || !last2.VIP || !slices.Contains(last2.Tags, "vip") {
		t.Errorf("the reopening message routed %+v, want the customer's tags and VIP", last2)
	}
}
