package desk

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/routing"
)

// TestClosingAsksAboutPromisesAlongTheRecord: whether a conversation waits
// for a promise is read in the round trip that reads its record, not in
// one of its own; and a conversation that waits is still closed right.
func TestClosingAsksAboutPromisesAlongTheRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	conv, _ := e.conversation(ana, ActiveMine)
	alone := &redistest.Counter{}
	e.rdb.AddHook(alone)
	closed, err := e.desk.Close(ctx, ana, conv, "")
	if err != nil {
		t.Fatal(err)
	}
	if closed.Open() || closed.Disposition != "resolved" {
		t.Fatalf("after Close: %+v", closed)
	}
	if n := alone.Alone("hexists"); n != 0 {
		t.Fatalf("%d reads of the promise list on their own round trip; want it along the record's", n)
	}
}

// entryTap keeps the entries the conversation service notifies.
type entryTap struct {
	mu      sync.Mutex
	entries []conversation.Entry
}

func (n *entryTap) Notify(_ context.Context, _ string, e conversation.Entry) {
	n.mu.Lock()
	n.entries = append(n.entries, e)
	n.mu.Unlock()
}

// TestCustomerLineIsNamedWithoutAReadOfTheCustomer: the line a customer's
// message adds is named on the console from what the receiving script
// read, with no Redis command, and by the name the transcript shows.
func TestCustomerLineIsNamedWithoutAReadOfTheCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	tap := &entryTap{}
	e.convs.SetNotifier(tap)
	r, err := e.desk.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: "+15550001234", To: ourAddress, Text: "is anyone there?", ProviderID: "SMnamed1"})
	if err != nil {
		t.Fatal(err)
	}
	tap.mu.Lock()
	var line conversation.Entry
	for _, en := range tap.entries {
		if en.Type == conversation.EntryCustomer {
			line = en
		}
	}
	tap.mu.Unlock()
	count := &redistest.Counter{}
	e.rdb.AddHook(count)
	pushed := e.desk.View(ctx, r.ConversationID, line)
	if n := count.Commands.Load(); n != 0 {
		t.Errorf("%d Redis commands to name the customer's line", n)
	}
	page, err := e.desk.Transcript(ctx, sam, r.ConversationID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range page.Messages {
		if m.Kind == KindCustomer {
			found = true
			if m.Author != pushed.Author {
				t.Errorf("the console was told %q; the transcript says %q", pushed.Author, m.Author)
			}
		}
	}
	if !found {
		t.Error("no customer line in the transcript")
	}
	if pushed.Author != "+15550001234" {
		t.Errorf("a customer without a name is named %q, want their number", pushed.Author)
	}
}

// TestRoutingsCloseOfACloseRecordedHereReadsNothing: when routing's closed
// event reaches the gateway that recorded that close, the desk knows the
// record is closed without reading it; a close recorded nowhere yet is
// still read and left to repair later.
func TestRoutingsCloseOfACloseRecordedHereReadsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.convs.SetNotifier(e.desk) // as the wiring does: closing lines reach the desk
	conv, _ := e.conversation(ana, ActiveMine)
	routingClosedAt := time.Now()
	if _, err := e.desk.Close(ctx, ana, conv, ""); err != nil {
		t.Fatal(err)
	}
	count := &redistest.Counter{}
	e.rdb.AddHook(count)
	if err := e.desk.React(ctx, routing.Event{Type: routing.EventClosed, ConversationID: conv, AgentID: ana.AccountID, At: routingClosedAt}); err != nil {
		t.Fatalf("closed event of a close recorded here: %v", err)
	}
	if n := count.Alone("hgetall"); n != 0 {
		t.Errorf("%d record reads for a close this gateway recorded", n)
	}

	// Routing closed it, and the gateway that was to record it died.
	other, _ := e.conversation(ana, ActiveMine)
	if err := e.engine.Close(ctx, other, ana.AccountID); err != nil {
		t.Fatal(err)
	}
	count.Reset()
	err := e.desk.React(ctx, routing.Event{Type: routing.EventClosed, ConversationID: other, AgentID: ana.AccountID, At: time.Now()})
	if !errors.Is(err, routing.ErrRetryLater) {
		t.Errorf("closed event of a close nobody recorded: %v, want ErrRetryLater", err)
	}
	if n := count.Alone("hgetall"); n != 1 {
		t.Errorf("%d record reads for a close recorded nowhere; want 1", n)
	}
}

// closingHook runs before, just before the script that closes conv's
// record is sent (through cmdTap): routing has let go of it by then.
type closingHook struct {
	conv   string
	arg    string // of the script to run before at: "" for the record's close ("cg", "cgh")
	before func()
	fired  atomic.Bool // once only, and a script sent from before passes
}

// see runs before when the script closing conv's record (or the one
// passing arg) is sent.
func (h *closingHook) see(cmd redis.Cmder) {
	args := cmd.Args()
	passes := func() bool {
		if h.arg != "" {
			return slices.Contains(args, any(h.arg))
		}
		// update.lua's flags (ARGV[3], after the command, the sha, the key
		// count and three keys) of a record's close: "cg", or "cgh" when it
		// names routing's holder.
		flags, _ := args[min(8, len(args)-1)].(string)
		return flags == "cg" || flags == "cgh"
	}
	if name := cmd.Name(); (name == "evalsha" || name == "eval") && slices.Contains(args, any(h.conv)) && passes() {
		if h.fired.CompareAndSwap(false, true) {
			h.before()
		}
	}
}

// cmdTap is a client hook (AddHook) that shows the function every command
// sent, alone or in a pipeline, before it goes.
type cmdTap func(redis.Cmder)

func (f cmdTap) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f cmdTap) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		f(cmd)
		return next(ctx, cmd)
	}
}

func (f cmdTap) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			f(c)
		}
		return next(ctx, cmds)
	}
}

// TestRoutingsCloseHandledMidCloseWaitsForTheRecord: routing's closed event
// often reaches the gateway that is closing the conversation after routing
// let go and before the record is closed. It waits for that close, on a
// signal of this process, and then reads nothing and asks for no retry,
// where it used to read the open record and be handed out again later.
func TestRoutingsCloseHandledMidCloseWaitsForTheRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.convs.SetNotifier(e.desk)
	conv, _ := e.conversation(ana, ActiveMine)
	count := &redistest.Counter{}
	reacted := make(chan error, 1)
	hook := &closingHook{conv: conv, before: func() {
		// Routing has closed it; the record is about to be.
		go func() {
			count.Reset()
			reacted <- e.desk.React(ctx, routing.Event{Type: routing.EventClosed, ConversationID: conv, AgentID: ana.AccountID, At: time.Now()})
		}()
		waitForWaiters(t, e.desk, 1, reacted) // the event is handled, and waits, before the record closes
	}}
	e.rdb.AddHook(cmdTap(hook.see))
	e.rdb.AddHook(count)
	if _, err := e.desk.Close(ctx, ana, conv, ""); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-reacted:
		if err != nil {
			t.Fatalf("closed event handled mid-close: %v, want nil (the close was recorded here)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the closed event was not handled")
	}
	if n := count.Alone("hgetall"); n != 0 {
		t.Errorf("%d record reads for a close this gateway was recording", n)
	}
	rec, err := e.convs.Conversation(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Open() || rec.Disposition != "resolved" {
		t.Errorf("after the close: state %s, disposition %q", rec.State, rec.Disposition)
	}
}

// TestACloseThatFailsLetsItsEventReadTheRecord: a close under way here that
// fails (the record could not be written) does not leave routing's closed
// event waiting: it reads the record, finds it open, and is handed out
// again later, as for a close made elsewhere.
func TestACloseThatFailsLetsItsEventReadTheRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	conv, _ := e.conversation(ana, ActiveMine)
	end := e.desk.closedHere.begin(conv)
	if err := e.engine.Close(ctx, conv, ana.AccountID); err != nil {
		t.Fatal(err)
	}
	reacted := make(chan error, 1)
	go func() {
		reacted <- e.desk.React(ctx, routing.Event{Type: routing.EventClosed, ConversationID: conv, AgentID: ana.AccountID, At: time.Now()})
	}()
	waitForWaiters(t, e.desk, 1, reacted)
	end() // the record's close failed
	select {
	case err := <-reacted:
		if !errors.Is(err, routing.ErrRetryLater) {
			t.Errorf("after a failed close here: %v, want ErrRetryLater", err)
		}
	case <-time.After(time.Second):
		t.Fatal("the event still waits after the close under way ended")
	}
}

// waitForWaiters waits until n routing events wait for a close under way
// here; reacted is where the handler of such an event reports.
func waitForWaiters(t *testing.T, d *Desk, n int64, reacted <-chan error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for d.closedHere.waiting.Load() != n {
		select {
		case err := <-reacted:
			t.Fatalf("the event did not wait for the close under way: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events wait for a close under way, want %d", d.closedHere.waiting.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestClosingAWaitingConversationKeepsItsDisposition: a supervisor closing
// a conversation still in the queue (spam) makes routing abandon it. When
// routing's abandoned event is handled here before the close is recorded,
// it waits for it, and the record keeps the supervisor's disposition
// instead of "abandoned", the customer's leaving.
func TestClosingAWaitingConversationKeepsItsDisposition(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.convs.SetNotifier(e.desk)
	conv, _ := e.conversation(ana, Waiting)
	reacted := make(chan error, 1)
	hook := &closingHook{conv: conv, before: func() {
		go func() {
			reacted <- e.desk.React(ctx, routing.Event{Type: routing.EventAbandoned, ConversationID: conv, At: time.Now()})
		}()
		waitForWaiters(t, e.desk, 1, reacted)
	}}
	e.rdb.AddHook(cmdTap(hook.see))
	if _, err := e.desk.Close(ctx, sam, conv, "spam"); err != nil {
		t.Fatal(err)
	}
	if err := <-reacted; err != nil {
		t.Fatal(err)
	}
	rec, err := e.convs.Conversation(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != conversation.StateClosed || rec.Disposition != "spam" {
		t.Errorf("after a supervisor's close: state %s, disposition %q; want closed, spam", rec.State, rec.Disposition)
	}
}

// orderHook notes (through cmdTap), in order, the scripts sent about conv:
// "mark" for the conversation service's MarkClosing, "routing" for a
// routing script.
type orderHook struct {
	conv string
	mu   sync.Mutex
	seen []string
}

func (h *orderHook) note(cmd redis.Cmder) {
	if n := cmd.Name(); n != "evalsha" && n != "eval" {
		return
	}
	for _, a := range cmd.Args() {
		switch v, _ := a.(string); {
		case v == "closing_until":
			h.add("mark")
			return
		case strings.HasSuffix(v, ":rc:"+h.conv):
			h.add("routing")
			return
		}
	}
}

// add notes what, once for a script go-redis sends twice (EVALSHA, then
// EVAL when Redis did not have it).
func (h *orderHook) add(what string) {
	h.mu.Lock()
	if n := len(h.seen); n == 0 || h.seen[n-1] != what {
		h.seen = append(h.seen, what)
	}
	h.mu.Unlock()
}

// TestAnotherGatewayLeavesASupervisorsCloseItsDisposition: routing's
// abandoned event of a waiting conversation a supervisor is closing may
// be handled by another gateway, which knows nothing of the close under
// way. The mark on the record holds it off until the close is recorded,
// so the record says spam, not that the customer left; the abandon of a
// conversation nobody is closing is still recorded.
func TestAnotherGatewayLeavesASupervisorsCloseItsDisposition(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.convs.SetNotifier(e.desk)
	other, err := New(Params{Engine: e.engine, Conversations: e.convs, Auth: e.auth, Promises: e.promises})
	if err != nil {
		t.Fatal(err)
	}
	conv, _ := e.conversation(ana, Waiting)
	var abandoned routing.Event
	var midClose error
	hook := &closingHook{conv: conv, before: func() {
		// Routing has abandoned it (after the mark); the record's close is next.
		abandoned = routing.Event{Type: routing.EventAbandoned, ConversationID: conv, At: time.Now()}
		midClose = other.React(ctx, abandoned)
	}}
	order := &orderHook{conv: conv}
	e.rdb.AddHook(cmdTap(hook.see))
	e.rdb.AddHook(cmdTap(order.note))
	if _, err := e.desk.Close(ctx, sam, conv, "spam"); err != nil {
		t.Fatal(err)
	}
	order.mu.Lock()
	if seen := order.seen; len(seen) != 2 || seen[0] != "mark" || seen[1] != "routing" {
		t.Errorf("scripts about the conversation, in order: %v; want the mark before routing lets go", seen)
	}
	order.mu.Unlock()
	if !errors.Is(midClose, routing.ErrRetryLater) {
		t.Errorf("abandoned event handled elsewhere mid-close: %v, want ErrRetryLater", midClose)
	}
	if err := other.React(ctx, abandoned); err != nil {
		t.Errorf("abandoned event handed out again after the close: %v", err)
	}
	rec, err := e.convs.Conversation(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != conversation.StateClosed || rec.Disposition != "spam" {
		t.Errorf("after a supervisor's close: state %s, disposition %q; want closed, spam", rec.State, rec.Disposition)
	}

	// A customer who left: nobody is closing it, the abandon is recorded.
	left, _ := e.conversation(ana, Waiting)
	if err := e.engine.Abandon(ctx, left, routing.CauseCustomer); err != nil {
		t.Fatal(err)
	}
	if err := other.React(ctx, routing.Event{Type: routing.EventAbandoned, ConversationID: left, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if rec, err := e.convs.Conversation(ctx, left); err != nil || rec.State != conversation.StateAbandoned {
		t.Errorf("a customer's leaving: %+v, %v; want abandoned", rec.State, err)
	}
}

// TestClosingAConversationTheCustomerJustLeft: the customer leaves between
// the supervisor's look at the queue and the close. The close finds the
// record closed and says so, with the record, not "offer gone" from a
// routing that has let go already.
func TestClosingAConversationTheCustomerJustLeft(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.convs.SetNotifier(e.desk)
	conv, _ := e.conversation(ana, Waiting)
	hook := &closingHook{conv: conv, arg: "closing_until", before: func() {
		if err := e.desk.Abandon(ctx, conv); err != nil {
			t.Error(err)
		}
	}}
	e.rdb.AddHook(cmdTap(hook.see))
	out, err := e.desk.Close(ctx, sam, conv, "spam")
	if err != nil {
		t.Fatalf("closing a conversation the customer just left: %v", err)
	}
	if out.ID != conv || out.State != conversation.StateAbandoned {
		t.Errorf("the close returned %s in state %s; want %s, abandoned", out.ID, out.State, conv)
	}
}

// TestRoutingHearsWhoTookAConversationOutOfTheQueue: a supervisor's close
// of a conversation nobody took yet reaches routing as CauseClosed, so the
// figures and webhooks do not take it for a customer's abandon; a customer
// who leaves (hang-up, visitor gone, the customer ending it) is still
// CauseCustomer.
func TestRoutingHearsWhoTookAConversationOutOfTheQueue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc  string
		in    Standing
		leave func(e *env, conv string) error
		want  routing.AbandonCause
	}{
		{desc: "supervisor closes a waiting one", in: Waiting, want: routing.CauseClosed,
			leave: func(e *env, conv string) error {
				_, err := e.desk.Close(context.Background(), sam, conv, "spam")
				return err
			}},
		{desc: "supervisor closes one offered to an agent", in: OfferedToOther, want: routing.CauseClosed,
			leave: func(e *env, conv string) error {
				_, err := e.desk.Close(context.Background(), sam, conv, "duplicate")
				return err
			}},
		{desc: "customer leaves", in: Waiting, want: routing.CauseCustomer,
			leave: func(e *env, conv string) error { return e.desk.Abandon(context.Background(), conv) }},
		{desc: "customer ends it while waiting", in: Waiting, want: routing.CauseCustomer,
			leave: func(e *env, conv string) error { return e.desk.CustomerEnded(context.Background(), conv) }},
		{desc: "customer ends it as routing gives it back to the queue", in: Waiting, want: routing.CauseCustomer,
			// CustomerEnded saw it taken, the close finds it waiting again.
			leave: func(e *env, conv string) error {
				ctx := context.Background()
				rec, err := e.convs.Conversation(ctx, conv)
				if err != nil {
					return err
				}
				_, err = e.desk.close(ctx, rec, "", dispositionCustomerEnded)
				return err
			}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			conv, _ := e.conversation(ana, c.in)
			if err := c.leave(e, conv); err != nil {
				t.Fatal(err)
			}
			evs, err := e.engine.Events(context.Background(), "", 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []routing.AbandonCause
			for _, ev := range evs {
				if ev.Type == routing.EventAbandoned && ev.ConversationID == conv {
					got = append(got, ev.Cause)
				}
			}
			if len(got) != 1 || got[0] != c.want {
				t.Errorf("abandoned events' causes %q; want one, %q", got, c.want)
			}
		})
	}
}

// TestTwoClosesUnderWayHoldTheEventUntilOneIsRecorded: two consoles close
// one conversation at once; the first to fail does not let routing's event
// go on while the other is still recording the close.
func TestTwoClosesUnderWayHoldTheEventUntilOneIsRecorded(t *testing.T) {
	t.Parallel()
	var c closedHere
	endA, endB := c.begin("cv1"), c.begin("cv1")
	done := make(chan struct{})
	go func() {
		c.await(context.Background(), "cv1", 5*time.Second)
		close(done)
	}()
	endA() // one close failed
	select {
	case <-done:
		t.Fatal("the event went on while another close was still under way")
	case <-time.After(50 * time.Millisecond):
	}
	c.add("cv1", time.Now()) // the other recorded it
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("the event still waits after the close was recorded")
	}
	endB()                                                             // after add: nothing left to end
	c.await(context.Background(), "cv1", 5*time.Second)                // no close under way: at once
	if end := c.begin("cv1"); c.underWay["cv1"] == nil || end == nil { // a later close starts afresh
		t.Fatal("a close begun after the others ended is not under way")
	}
}

// consoleTap keeps the offers and assignments the desk pushes.
type consoleTap struct {
	noConsoles
	mu       sync.Mutex
	offers   []Offer
	assigned []Conversation
}

func (c *consoleTap) Offer(_ context.Context, _ string, o Offer) {
	c.mu.Lock()
	c.offers = append(c.offers, o)
	c.mu.Unlock()
}

func (c *consoleTap) Assigned(_ context.Context, _ string, conv Conversation) {
	c.mu.Lock()
	c.assigned = append(c.assigned, conv)
	c.mu.Unlock()
}

// TestRingingAnAgentIsOneRoundTrip: routing's offered and accepted events
// are recorded and shown on the console (the customer's name, the
// message previewed, the last line) in the round trip of the script that
// records them, and show what reading it all afterwards shows.
func TestRingingAnAgentIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	tap := &consoleTap{}
	e.desk.consoles = tap
	r, err := e.desk.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: "+15550004321", To: ourAddress,
		Text: "where is my parcel?", ProviderID: "SMring1", Name: "Maria Svensson"})
	if err != nil {
		t.Fatal(err)
	}
	e.desk.shownName(ctx, ana.AccountID) // names are cached apart; not this test's concern
	count := &redistest.Counter{}
	e.rdb.AddHook(count)
	now := time.Now()
	if err := e.desk.React(ctx, routing.Event{Type: routing.EventOffered, ConversationID: r.ConversationID, AgentID: ana.AccountID,
		At: now, Deadline: now.Add(20 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if n := count.Trips.Load(); n != 1 {
		t.Errorf("offered: %d round trips, want 1", n)
	}
	count.Reset()
	if err := e.desk.React(ctx, routing.Event{Type: routing.EventAccepted, ConversationID: r.ConversationID, AgentID: ana.AccountID, At: now}); err != nil {
		t.Fatal(err)
	}
	if n := count.Trips.Load(); n != 1 {
		t.Errorf("accepted: %d round trips, want 1", n)
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if len(tap.offers) != 1 || len(tap.assigned) != 1 {
		t.Fatalf("%d offers and %d assignments pushed, want 1 each", len(tap.offers), len(tap.assigned))
	}
	conv, err := e.convs.Conversation(ctx, r.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	o, a := tap.offers[0], tap.assigned[0]
	if want := e.desk.offer(ctx, conv, nil, o.OfferedAt, o.Deadline); o.Customer != want.Customer || o.Preview != want.Preview {
		t.Errorf("offer shows %+v / %q; read afterwards: %+v / %q", o.Customer, o.Preview, want.Customer, want.Preview)
	}
	if o.Customer.Name != "Maria Svensson" || o.Preview != "where is my parcel?" {
		t.Errorf("offer shows %+v previewing %q", o.Customer, o.Preview)
	}
	if want := e.desk.assigned(ctx, conv, nil); a.Customer != want.Customer || a.LastText != want.LastText || a.LastMessageID != want.LastMessageID {
		t.Errorf("assignment shows %+v / %q; read afterwards: %+v / %q", a.Customer, a.LastText, want.Customer, want.LastText)
	}
	if a.LastText != "where is my parcel?" || a.State != "active" {
		t.Errorf("assignment: %+v", a)
	}
}

// TestThePlaceOfAConversationNotWaitingIsOneRead: a chat visitor's widget
// asks for its place when the chat opens, and under load most chats are
// offered at once. Routing's record, read once, says it is not waiting;
// asking routing again for the state cost a second round trip. A waiting
// one still gets its place.
func TestThePlaceOfAConversationNotWaitingIsOneRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	first, _ := e.conversation(ana, Waiting)
	second, _ := e.conversation(ana, Waiting)
	active, _ := e.conversation(ana, ActiveMine)
	count := &redistest.Counter{}
	e.rdb.AddHook(count)
	p, err := e.desk.Place(ctx, active)
	if err != nil {
		t.Fatal(err)
	}
	if p.Position != 0 {
		t.Errorf("an active conversation is told place %d", p.Position)
	}
	if n := count.Trips.Load(); n != 1 {
		t.Errorf("the place of an active conversation took %d round trips, want 1", n)
	}
	for want, id := range []string{first, second} {
		p, err := e.desk.Place(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Position != want+1 {
			t.Errorf("waiting conversation %d is told place %d", want+1, p.Position)
		}
	}
}

// TestACustomerEndingAConversationBackInTheQueueAbandonsIt: CustomerEnded
// read routing's state as active, and routing gave the conversation back
// to the queue before the close (the agent missed it). The close then
// finds it waiting, closed by nobody: the customer's abandon, recorded as
// abandoned, and no conversation.closed on the conversation stream (the
// webhooks send routing's conversation.abandoned for it).
func TestACustomerEndingAConversationBackInTheQueueAbandonsIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	conv, _ := e.conversation(ana, Waiting)
	rec, err := e.convs.Conversation(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.desk.close(ctx, rec, "", conversation.DispositionCustomerEnded)
	if err != nil {
		t.Fatal(err)
	}
	if out.State != conversation.StateAbandoned {
		t.Errorf("record after the customer ended it from the queue: %s/%q, want abandoned", out.State, out.Disposition)
	}
	evs, err := e.rdb.XRange(ctx, e.convs.EventsKey(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range evs {
		if m.Values["type"] == conversation.EventConversationClosed {
			t.Errorf("a customer's abandon wrote %v", m.Values)
		}
	}
	st, err := e.engine.Conversation(ctx, conv)
	if err != nil || st.State != routing.ConvAbandoned {
		t.Errorf("routing's state %s (%v), want abandoned", st.State, err)
	}
}

// TestACloseRecordsWhereRoutingHadIt: the close's event on the conversation
// stream says where routing had the conversation and with whom, and for
// how long since routing's accept, although the record heard of neither
// the offer nor the accept.
func TestACloseRecordsWhereRoutingHadIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	closedEvent := func(conv string) map[string]any {
		t.Helper()
		got := closedEntries(t, e, conv)
		if len(got) != 1 {
			t.Fatalf("%d conversation.closed entries for %s, want 1: %v", len(got), conv, got)
		}
		return got[0]
	}
	waiting, _ := e.conversation(ana, Waiting)
	offered, _ := e.conversation(ana, Waiting)
	active, _ := e.conversation(ana, Waiting)
	// Routing moves; the record is not told (its reactor is behind).
	if err := e.engine.Transfer(ctx, offered, routing.Target{Queue: "support", AgentID: bo.AccountID}); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Transfer(ctx, active, routing.Target{Queue: "support", AgentID: ana.AccountID}); err != nil {
		t.Fatal(err)
	}
	// Whole milliseconds, as routing stamps them.
	accepting := time.UnixMilli(time.Now().UnixMilli())
	if err := e.engine.Accept(ctx, active, ana.AccountID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	for _, c := range []struct{ conv, from, agent string }{
		{waiting, "waiting", ""}, {offered, "offered", ""}, {active, "", ana.AccountID},
	} {
		if _, err := e.desk.Close(ctx, sam, c.conv, "duplicate"); err != nil {
			t.Fatal(err)
		}
		ev := closedEvent(c.conv)
		from, _ := ev["from"].(string)
		agent, _ := ev["agent"].(string)
		if from != c.from || agent != c.agent || ev["by"] != sam.AccountID || ev["disposition"] != "duplicate" {
			t.Errorf("close of one routing had %s with %q: %v", c.from, c.agent, ev)
		}
		if c.conv == active {
			ms, _ := ev["handle_ms"].(string)
			handled, err := strconv.ParseInt(ms, 10, 64)
			if elapsed := time.Since(accepting).Milliseconds(); err != nil || handled < 20 || handled > elapsed {
				t.Errorf("handle_ms %q of a close %d ms after routing's accept; want from that accept, 20 ms or more", ms, elapsed)
			}
		}
	}
}

// TestStaffClosedFromReadsRoutingsAbandon: routing's abandoned event says
// whether staff closed it (cause) and where it was (reason).
func TestStaffClosedFromReadsRoutingsAbandon(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cause  routing.AbandonCause
		reason string
		want   conversation.CloseFrom
	}{
		{routing.CauseClosed, "waiting", conversation.FromWaiting},
		{routing.CauseClosed, "offered", conversation.FromOffered},
		{routing.CauseCustomer, "offered", conversation.FromHandled},
		{"", "waiting", conversation.FromHandled},
	} {
		ev := routing.Event{Type: routing.EventAbandoned, Cause: c.cause, Reason: c.reason}
		if got := staffClosedFrom(ev); got != c.want {
			t.Errorf("cause %q, reason %q: %q, want %q", c.cause, c.reason, got, c.want)
		}
	}
}

// TestARepairedCloseCountsFromRoutingsAccept: routing closed a conversation
// whose closer died before recording it, and whose record never heard of
// the accept. The gateway that repairs it names routing's holder and
// counts handle_ms from the accept routing's close counted from.
func TestARepairedCloseCountsFromRoutingsAccept(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id, _ := e.conversation(ana, Waiting)
	at := time.UnixMilli(time.Now().Add(-time.Minute).UnixMilli())
	if err := e.desk.React(ctx, routing.Event{ID: "1-0", Type: routing.EventClosed, At: at, ConversationID: id,
		Queue: "support", Channel: "sms", AgentID: ana.AccountID, Handle: 20 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if got := closedEntries(t, e, id); len(got) != 1 || got[0]["agent"] != ana.AccountID || got[0]["handle_ms"] != "20000" {
		t.Fatalf("repaired close's entries %v; want one, ana's, handled for 20000 ms", got)
	}
	// A close routing counted from no accept (an empty accepted_at reads
	// as 1970) names none: the record has none recorded either.
	other, _ := e.conversation(ana, Waiting)
	if err := e.desk.React(ctx, routing.Event{ID: "2-0", Type: routing.EventClosed, At: at, ConversationID: other,
		Queue: "support", Channel: "sms", AgentID: ana.AccountID, Handle: time.Duration(at.UnixMilli()) * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if got := closedEntries(t, e, other); len(got) != 1 || got[0]["handle_ms"] != nil {
		t.Fatalf("close counted from no accept: entries %v; want one without handle_ms", got)
	}
}

// closedEntries are the conversation.closed entries of conv on the
// conversation event stream, as field values.
func closedEntries(t *testing.T, e *env, conv string) []map[string]any {
	t.Helper()
	evs, err := e.rdb.XRange(context.Background(), e.convs.EventsKey(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, m := range evs {
		if m.Values["type"] == conversation.EventConversationClosed && m.Values["conv"] == conv {
			got = append(got, m.Values)
		}
	}
	return got
}

// TestAWrapUpCloseCountsFromRoutingsAccept: a conversation of a queue with
// wrap-up, transferred from bo to ana, accepted by ana and closed in
// routing (ana in wrap-up) by a gateway that died before recording the
// close; the record last heard of bo's accept. The customer then ends it
// (the only close of a record open in wrap-up that is not the repair): the
// close counts handle_ms from ana's accept, not bo's.
func TestAWrapUpCloseCountsFromRoutingsAccept(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id, _ := e.conversation(ana, Waiting)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.engine.Transfer(ctx, id, routing.Target{Queue: "wrap", AgentID: bo.AccountID}))
	must(e.engine.Accept(ctx, id, bo.AccountID))
	if _, err := e.convs.Accepted(ctx, id, bo.AccountID, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	must(e.engine.Transfer(ctx, id, routing.Target{Queue: "wrap", AgentID: ana.AccountID}))
	accepting := time.UnixMilli(time.Now().UnixMilli())
	must(e.engine.Accept(ctx, id, ana.AccountID))
	must(e.engine.Close(ctx, id, ana.AccountID))
	if st, err := e.engine.Conversation(ctx, id); err != nil || st.State != routing.ConvWrapUp {
		t.Fatalf("routing's state %+v, %v; want wrap-up", st, err)
	}
	time.Sleep(20 * time.Millisecond)
	must(e.desk.CustomerEnded(ctx, id))
	got := closedEntries(t, e, id)
	if len(got) != 1 || got[0]["agent"] != ana.AccountID {
		t.Fatalf("close entries %v; want one, ana's", got)
	}
	ms, _ := got[0]["handle_ms"].(string)
	handled, err := strconv.ParseInt(ms, 10, 64)
	if elapsed := time.Since(accepting).Milliseconds(); err != nil || handled < 20 || handled > elapsed {
		t.Errorf("handle_ms %q, %d ms after ana's accept; want from it (bo's was an hour before)", ms, elapsed)
	}
}
