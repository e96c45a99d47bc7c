package desk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/routing"
)

// testClock is the promise service's clock in tests: due times pass when
// the test says so. Routing keeps the real clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// parked sets up ana holding a conversation and making a pending promise
// on it, due in an hour, with a message to the customer. Ana gets the
// skill every test conversation needs, so routing may offer it to her
// (and to nobody else).
func (e *env) parked() (convID string, p promise.Promise) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.engine.UpsertAgent(ctx, routing.AgentConfig{ID: ana.AccountID, Name: ana.Name, Skills: []string{"nobody"},
		Queues: []string{"support", "wrap"}, Capacity: map[string]int{"sms": 1000}}); err != nil {
		e.t.Fatal(err)
	}
	convID, _ = e.conversation(ana, ActiveMine)
	due := e.clock.Now().Add(time.Hour)
	p, err := e.desk.MakePromise(ctx, ana, convID, PromiseRequest{What: "call back about the refund", Due: due, Pending: true,
		Message: "I'll call you back about the refund by {due}.", CustomerTimeZone: "America/New_York"})
	if err != nil {
		e.t.Fatal(err)
	}
	if !p.Pending || p.State != promise.Open || p.AgentID != ana.AccountID {
		e.t.Fatalf("promise %+v", p)
	}
	// Routing let go: ana's slot is free, the record stays open and hers.
	if rc, err := e.engine.Conversation(ctx, convID); err == nil && rc.State != routing.ConvClosed {
		e.t.Fatalf("routing still holds the pending conversation: %s", rc.State)
	}
	if s, err := e.desk.Standing(ctx, ana, convID); err != nil || s != ActiveMine {
		e.t.Fatalf("ana's standing on her pending conversation: %v, %v", s, err)
	}
	if w, _ := e.promises.Waiting(ctx, convID); !w {
		e.t.Fatal("the conversation does not wait for its promise")
	}
	return convID, p
}

func (e *env) tick() {
	e.t.Helper()
	if err := e.promises.Tick(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) routed(convID string) routing.ConvStatus {
	e.t.Helper()
	rc, err := e.engine.Conversation(context.Background(), convID)
	if err != nil {
		e.t.Fatalf("routing does not know %s: %v", convID, err)
	}
	return rc
}

func (e *env) promise(id string) promise.Promise {
	e.t.Helper()
	p, err := e.promises.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func TestPromiseTellsTheCustomerInTheirZone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	convID, p := e.parked()
	entries, err := e.desk.Entries(context.Background(), ana, convID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	want := "I'll call you back about the refund by " + p.Due.In(ny).Format("Mon 2 Jan 15:04 MST") + "."
	var got []string
	for _, en := range entries {
		if en.Type == conversation.EntryAgent {
			got = append(got, en.Text)
		}
	}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("agent replies %q; want [%q]", got, want)
	}
}

func TestPromiseDueWhileOwnerAvailableComesBackToThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	convID, p := e.parked()
	e.clock.Add(59 * time.Minute)
	e.tick()
	if _, err := e.engine.Conversation(context.Background(), convID); err == nil && e.routed(convID).State != routing.ConvClosed {
		t.Fatal("the conversation came back before its due time")
	}
	e.clock.Add(2 * time.Minute)
	e.tick()
	rc := e.routed(convID)
	if rc.State != routing.ConvOffered || rc.AgentID != ana.AccountID || rc.Priority < 50 {
		t.Fatalf("after due: %s to %q at priority %d; want offered to ana at 50+", rc.State, rc.AgentID, rc.Priority)
	}
	got := e.promise(p.ID)
	if got.Returned != promise.ReturnedAgent || got.Pending || got.State != promise.Open {
		t.Fatalf("promise after due: %+v", got)
	}
	if w, _ := e.promises.Waiting(context.Background(), convID); w {
		t.Error("still waiting after it came back")
	}
	e.tick() // fired once: nothing more happens
	if rc := e.routed(convID); rc.State != routing.ConvOffered || rc.AgentID != ana.AccountID {
		t.Fatalf("a second tick moved it: %s %s", rc.State, rc.AgentID)
	}
}

func TestPromiseDueWhileOwnerAwayOrOfflineGoesToTheQueueAfterTheWindow(t *testing.T) {
	t.Parallel()
	for _, st := range []string{StateAway, StateOffline} {
		t.Run(st, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			convID, p := e.parked()
			if err := e.engine.SetAgentState(ctx, ana.AccountID, routing.AgentState(st), "lunch"); err != nil {
				t.Fatal(err)
			}
			board, err := e.desk.PromiseBoard(ctx, sam)
			if err != nil {
				t.Fatal(err)
			}
			if len(board.AtRisk) != 1 || board.AtRisk[0].ID != p.ID || board.AtRisk[0].OwnerState != st {
				t.Fatalf("at risk: %+v", board.AtRisk)
			}
			e.clock.Add(time.Hour)
			e.tick()
			if got := e.promise(p.ID); got.Returned != "" || !got.Pending {
				t.Fatalf("went somewhere while the window runs: %+v", got)
			}
			e.clock.Add(4 * time.Minute)
			e.tick()
			if got := e.promise(p.ID); got.Returned != "" {
				t.Fatalf("went somewhere within the window: %+v", got)
			}
			e.clock.Add(2 * time.Minute)
			e.tick()
			rc := e.routed(convID)
			if rc.State != routing.ConvWaiting || rc.Queue != "support" || rc.Priority < 50 {
				t.Fatalf("after the window: %s in %q at priority %d; want waiting in support at 50+", rc.State, rc.Queue, rc.Priority)
			}
			if got := e.promise(p.ID); got.Returned != promise.ReturnedQueue {
				t.Fatalf("promise: %+v", got)
			}
			// Back at her desk, ana gets it first: she is its last agent.
			if err := e.engine.SetAgentState(ctx, ana.AccountID, routing.StateAvailable, ""); err != nil {
				t.Fatal(err)
			}
			if rc := e.routed(convID); rc.State != routing.ConvOffered || rc.AgentID != ana.AccountID {
				t.Fatalf("ana back: %s to %q", rc.State, rc.AgentID)
			}
		})
	}
}

func TestPromiseCustomerWritesBeforeDue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.convs.SetNotifier(e.desk)
	convID, p := e.parked()
	conv, err := e.convs.Conversation(ctx, convID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.desk.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: conv.CustomerAddress, To: ourAddress,
		Text: "any news on the refund?", ProviderID: "SMnews"})
	if err != nil {
		t.Fatal(err)
	}
	if r.ConversationID != convID {
		t.Fatalf("the customer's message opened %s; want it in %s", r.ConversationID, convID)
	}
	e.tick() // no time passed
	rc := e.routed(convID)
	if rc.State != routing.ConvOffered || rc.AgentID != ana.AccountID {
		t.Fatalf("after the customer wrote: %s to %q; want offered to ana", rc.State, rc.AgentID)
	}
	got := e.promise(p.ID)
	if got.Returned != promise.ReturnedAgent || got.State != promise.Open || !got.Due.Equal(p.Due) {
		t.Fatalf("promise: %+v (its due time and state must stay)", got)
	}
}

func TestPromiseCancelBreaksItAndBringsTheConversationBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	convID, p := e.parked()
	if _, err := e.desk.CancelPromise(ctx, bo, convID, p.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bo cancelled ana's promise: %v", err)
	}
	got, err := e.desk.CancelPromise(ctx, ana, convID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != promise.Broken || got.ResolvedAt.IsZero() {
		t.Fatalf("cancelled: %+v", got)
	}
	if _, err := e.desk.CancelPromise(ctx, ana, convID, p.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("second cancel: %v; want ErrConflict", err)
	}
	if _, err := e.desk.KeepPromise(ctx, ana, convID, p.ID, promise.ViaCall, ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("keeping a broken promise: %v; want ErrConflict", err)
	}
	e.tick()
	if rc := e.routed(convID); rc.State != routing.ConvOffered || rc.AgentID != ana.AccountID {
		t.Fatalf("after cancel: %s to %q; want offered to ana", rc.State, rc.AgentID)
	}
	board, err := e.desk.PromiseBoard(ctx, sam)
	if err != nil {
		t.Fatal(err)
	}
	if len(board.Broken) != 1 || board.Broken[0].ID != p.ID {
		t.Fatalf("broken on the board: %+v", board.Broken)
	}
	if _, err := e.desk.PromiseBoard(ctx, ana); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an agent read the board: %v", err)
	}
}

func TestPromiseClosingAPendingConversation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	convID, p := e.parked()
	conv, err := e.desk.Close(ctx, ana, convID, "resolved")
	if err != nil {
		t.Fatalf("closing a conversation that waits for a promise: %v", err)
	}
	if conv.Open() {
		t.Fatalf("still open: %s", conv.State)
	}
	e.clock.Add(time.Hour)
	e.tick()
	got := e.promise(p.ID)
	if got.Returned != promise.ReturnedGone || got.State != promise.Open {
		t.Fatalf("promise of a closed conversation at due: %+v", got)
	}
	if _, err := e.engine.Conversation(ctx, convID); err == nil && e.routed(convID).State != routing.ConvClosed {
		t.Fatalf("a closed conversation was routed again: %s", e.routed(convID).State)
	}
	// The promise is still the agent's to keep (exactly at due: on time).
	if kept, err := e.desk.KeepPromise(ctx, ana, convID, p.ID, promise.ViaCall, "Called back."); err != nil || kept.State != promise.Kept {
		t.Fatalf("keeping it after the close: %+v, %v", kept, err)
	}
}

func TestPromiseKeptAndLate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	convID, _ := e.conversation(ana, ActiveMine)
	due := e.clock.Now().Add(time.Hour)
	onTime, err := e.desk.MakePromise(ctx, ana, convID, PromiseRequest{What: "send the label", Due: due})
	if err != nil {
		t.Fatal(err)
	}
	late, err := e.desk.MakePromise(ctx, ana, convID, PromiseRequest{What: "call back", Due: due})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.MakePromise(ctx, ana, convID, PromiseRequest{What: "x", Due: e.clock.Now().Add(-time.Minute)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a promise due in the past: %v; want ErrInvalid", err)
	}
	got, err := e.desk.KeepPromise(ctx, ana, convID, onTime.ID, promise.ViaReply, "Here is your return label.")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != promise.Kept || got.Via != promise.ViaReply {
		t.Fatalf("kept on time: %+v", got)
	}
	e.clock.Add(time.Hour + 90*time.Second)
	e.tick() // due, not pending: ana holds it, nothing moves
	if rc := e.routed(convID); rc.State != routing.ConvActive || rc.AgentID != ana.AccountID {
		t.Fatalf("a held conversation moved at due: %s %s", rc.State, rc.AgentID)
	}
	board, err := e.desk.PromiseBoard(ctx, sam)
	if err != nil {
		t.Fatal(err)
	}
	if len(board.Late) != 1 || board.Late[0].ID != late.ID || board.Late[0].Outcome != promise.Late {
		t.Fatalf("late on the board: %+v", board.Late)
	}
	got, err = e.desk.KeepPromise(ctx, ana, convID, late.ID, promise.ViaCall, "Called, refund approved.")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != promise.Late || got.LatenessSeconds != 90 {
		t.Fatalf("kept late: %+v", got)
	}
	list, err := e.desk.ConversationPromises(ctx, ana, convID)
	if err != nil || len(list) != 2 {
		t.Fatalf("promises of the conversation: %v, %v", list, err)
	}
	if mine, err := e.desk.MyPromises(ctx, ana); err != nil || len(mine) != 0 {
		t.Fatalf("ana's open promises after keeping both: %v, %v", mine, err)
	}
}

func TestTimelineListsConversationsAndPromisesInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	first, cust := e.conversation(ana, ClosedMine)
	conv, err := e.convs.Conversation(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	// The same customer writes again by email: a second conversation.
	if _, err := e.convs.LinkIdentity(ctx, cust, channel.Email, "kim@example.com"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // distinct creation times, in order
	r, err := e.desk.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: conv.CustomerAddress, To: ourAddress, Text: "again", ProviderID: "SMagain"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Transfer(ctx, r.ConversationID, routing.Target{AgentID: ana.AccountID}); err != nil {
		t.Fatal(err)
	}
	if err := e.engine.Accept(ctx, r.ConversationID, ana.AccountID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.convs.Accepted(ctx, r.ConversationID, ana.AccountID, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.t = time.Now().Add(time.Second) // after both conversations began
	p, err := e.desk.MakePromise(ctx, ana, r.ConversationID, PromiseRequest{What: "call back", Due: e.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.CancelPromise(ctx, ana, r.ConversationID, p.ID); err != nil {
		t.Fatal(err)
	}
	items, err := e.desk.Timeline(ctx, ana, cust)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Kind+":"+it.ConversationID+":"+it.State)
	}
	want := []string{"conversation:" + first + ":closed", "conversation:" + r.ConversationID + ":active", "promise:" + r.ConversationID + ":broken"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("timeline\n got %q\nwant %q", got, want)
	}
	if _, err := e.desk.Timeline(ctx, bo, cust); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bo, who never served the customer, read the timeline: %v", err)
	}
}

// promiseCrashEnv makes the test binary a gateway that claims due promises
// and stops where its value says ("claim": right after claiming; "return":
// after handing the conversation back to routing, before recording it),
// says so, and waits for its SIGKILL. Value: "stop REDIS_URL workspace".
const promiseCrashEnv = "SB_DESK_PROMISE_CRASH_CHILD"

func promiseCrashChild() int {
	parts := strings.Fields(os.Getenv(promiseCrashEnv))
	stop, url, ws := parts[0], parts[1], parts[2]
	st, err := store.Open(store.Options{URL: url})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	engine, err := routing.New(routing.Params{Client: st.Client, Workspace: ws, Queues: []routing.QueueConfig{{Name: "support"}, {Name: "wrap", WrapUpSeconds: 3600}}})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	convs, err := conversation.New(conversation.Params{Redis: st.Client, Workspace: ws, Router: Router{Engine: engine}, DefaultQueue: "support", AttachmentDir: os.TempDir()})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	var router promise.Router = PromiseRouter{Engine: engine, Conversations: convs}
	hang := func() {
		fmt.Println("stopped")
		select {}
	}
	if stop == "return" {
		router = stopAfterReturn{router, hang}
	}
	svc, err := promise.New(promise.Params{Redis: st.Client, Workspace: ws, Router: router, Lease: time.Second})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	if stop == "claim" {
		promise.StopAfterClaim(svc, hang)
	}
	if err := svc.Tick(context.Background()); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("error: nothing was due")
	return 1
}

type stopAfterReturn struct {
	promise.Router
	hang func()
}

func (s stopAfterReturn) Return(ctx context.Context, convID, owner string, prio int) error {
	if err := s.Router.Return(ctx, convID, owner, prio); err != nil {
		return err
	}
	s.hang()
	return nil
}

// TestPromiseDueOnAGatewayKilledIsFiredOnceByAnother kills a gateway that
// holds a due promise (after claiming it, and after handing the
// conversation back but before recording that) and checks that another
// gateway fires it once the lease lapses, and that routing enqueued the
// conversation exactly once.
func TestPromiseDueOnAGatewayKilledIsFiredOnceByAnother(t *testing.T) {
	t.Parallel()
	for _, stop := range []string{"claim", "return"} {
		t.Run(stop, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			// Made an hour ago, due a minute ago (the promise clock is the
			// test's; the child's is real).
			e.clock.t = time.Now().Add(-61 * time.Minute)
			convID, p := e.parked()
			ws := strings.TrimPrefix(strings.SplitN(e.promises.EventsKey(), "}", 2)[0], "sb:{")

			child := exec.Command(os.Args[0], "-test.run=^$")
			child.Env = append(os.Environ(), promiseCrashEnv+"="+stop+" "+server.URL()+" "+ws)
			out, err := child.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil || line != "stopped\n" {
				t.Fatalf("child said %q, %v", line, err)
			}
			if err := child.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			_ = child.Wait()

			e.clock.t = time.Now()
			e.tick() // the dead gateway's lease still holds
			if got := e.promise(p.ID); got.Returned != "" {
				t.Fatalf("fired while the dead gateway's lease held: %+v", got)
			}
			deadline := time.Now().Add(10 * time.Second)
			for e.promise(p.ID).Returned == "" {
				if time.Now().After(deadline) {
					t.Fatal("no gateway fired the promise after the lease lapsed")
				}
				time.Sleep(100 * time.Millisecond)
				e.clock.t = time.Now()
				e.tick()
			}
			if got := e.promise(p.ID); got.Returned != promise.ReturnedAgent {
				t.Fatalf("promise: %+v", got)
			}
			if rc := e.routed(convID); rc.State != routing.ConvOffered || rc.AgentID != ana.AccountID {
				t.Fatalf("conversation: %s to %q", rc.State, rc.AgentID)
			}
			evs, err := server.NewClient(t).XRange(ctx, "sb:{"+ws+"}:events", "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			enqueued := 0
			for _, ev := range evs {
				if ev.Values["type"] == "enqueued" && ev.Values["conv"] == convID {
					enqueued++
				}
			}
			// Once when the customer first wrote, once when the promise fell due.
			if enqueued != 2 {
				t.Fatalf("routing enqueued the conversation %d times; want 2 (first contact, promise due)", enqueued)
			}
		})
	}
}

// keyWatch counts (through cmdTap) the commands that name a key containing
// part.
type keyWatch struct {
	part string
	n    atomic.Int64
}

func (k *keyWatch) see(cmd redis.Cmder) {
	for _, a := range cmd.Args() {
		if s, ok := a.(string); ok && strings.Contains(s, k.part) {
			k.n.Add(1)
			return
		}
	}
}

// TestMessagesNeverParkedAskNoPromise: a customer message looks for a
// promise to wake only on a conversation a pending promise parked; on any
// other it costs the promises nothing.
func TestMessagesNeverParkedAskNoPromise(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.convs.SetNotifier(e.desk)
	convID, _ := e.conversation(ana, ActiveMine)
	conv, err := e.convs.Conversation(ctx, convID)
	if err != nil {
		t.Fatal(err)
	}
	asks := &keyWatch{part: ":prom:parked"}
	e.rdb.AddHook(cmdTap(asks.see))
	for i := range 3 {
		r, err := e.desk.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: conv.CustomerAddress, To: ourAddress,
			Text: fmt.Sprintf("question %d", i), ProviderID: fmt.Sprintf("SMask%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if r.ConversationID != convID {
			t.Fatalf("message %d opened %s; want it in %s", i, r.ConversationID, convID)
		}
	}
	if n := asks.n.Load(); n != 0 {
		t.Fatalf("%d promise lookups for 3 messages on a conversation never parked", n)
	}
}
