package routing

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/store"
)

// crashChildEnv makes the test binary act as a crashing gateway: TestMain
// runs crashChild instead of the tests. Its value is "REDIS_URL workspace".
const crashChildEnv = "SB_ROUTING_CRASH_CHILD"

var crashQueues = []QueueConfig{{Name: "support", OfferTimeoutSeconds: map[string]int{"chat": 3}}}

const (
	crashConvs     = 20
	crashGrace     = time.Second
	crashHeartbeat = 200 * time.Millisecond
)

// crashChild is the gateway that dies: its agents are connected to it (it
// sends their heartbeats) and it routes every conversation to them, then
// says "ready" and waits for its SIGKILL.
func crashChild() int {
	url, ws, _ := strings.Cut(os.Getenv(crashChildEnv), " ")
	ctx := context.Background()
	st, err := store.Open(store.Options{URL: url})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	e, err := New(Params{Client: st.Client, Workspace: ws, Queues: crashQueues, PresenceGrace: crashGrace})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	ids := []string{"c1", "c2", "c3", "c4"}
	for _, id := range ids {
		if err := e.UpsertAgent(ctx, AgentConfig{ID: id, Capacity: map[string]int{"chat": 5}}); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		if err := e.SetAgentState(ctx, id, StateAvailable, ""); err != nil {
			fmt.Println("error:", err)
			return 1
		}
	}
	for i := range crashConvs {
		if err := e.Enqueue(ctx, Request{ConversationID: fmt.Sprintf("conv%02d", i), Channel: chChat}); err != nil {
			fmt.Println("error:", err)
			return 1
		}
	}
	fmt.Println("ready")
	for {
		for _, id := range ids {
			_ = e.Heartbeat(ctx, id)
		}
		time.Sleep(crashHeartbeat)
	}
}

func TestCrashedGatewayLosesNothing(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), crashChildEnv+"="+shared.URL()+" "+ws)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e, err := New(Params{Client: shared.Connect(t), Workspace: ws, Queues: crashQueues,
		PresenceGrace: crashGrace, SweepInterval: 50 * time.Millisecond, EventsMaxLen: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, id := range []string{"c1", "c2", "c3", "c4"} {
		a, err := e.Agent(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		held += len(a.Conversations)
	}
	if held != crashConvs {
		t.Fatalf("the child's agents hold %d offers; want %d", held, crashConvs)
	}
	sub, err := e.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// This gateway's own agents, with their heartbeats.
	mine := []string{"p1", "p2", "p3", "p4"}
	for _, id := range mine {
		if err := e.UpsertAgent(ctx, AgentConfig{ID: id, Capacity: map[string]int{"chat": 5}}); err != nil {
			t.Fatal(err)
		}
		if err := e.SetAgentState(ctx, id, StateAvailable, ""); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		for ctx.Err() == nil {
			for _, id := range mine {
				_ = e.Heartbeat(ctx, id)
			}
			time.Sleep(crashHeartbeat)
		}
	}()
	go func() { _ = e.Run(ctx) }()

	killed := time.Now()
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	accepted := map[string]int{}
	var lastAccept time.Time
	for len(accepted) < crashConvs {
		select {
		case ev := <-sub.C:
			if ev.Type == EventOffered && strings.HasPrefix(ev.AgentID, "p") {
				if err := e.Accept(ctx, ev.ConversationID, ev.AgentID); err != nil {
					t.Fatalf("accept %s: %v", ev.ConversationID, err)
				}
				accepted[ev.ConversationID]++
				lastAccept = time.Now()
			}
		case <-ctx.Done():
			t.Fatalf("only %d of %d conversations reached a live agent: %v", len(accepted), crashConvs, accepted)
		}
	}
	// Requeued within the offer timeout (3 s) of the crash: the presence
	// grace notices the dead gateway's agents before their offers lapse.
	if took := lastAccept.Sub(killed); took > 3*time.Second {
		t.Errorf("recovery took %v; want within the 3 s offer timeout", took)
	}
	t.Logf("all %d offers requeued and accepted %v after the kill", crashConvs, lastAccept.Sub(killed).Round(time.Millisecond))
	events, err := e.Events(ctx, "", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	caps := map[string]map[string]int{}
	for _, id := range []string{"c1", "c2", "c3", "c4", "p1", "p2", "p3", "p4"} {
		caps[id] = map[string]int{"chat": 5}
	}
	foldCheck(t, events, caps, map[string][]string{})
	for i := range crashConvs {
		id := fmt.Sprintf("conv%02d", i)
		c, err := e.Conversation(ctx, id)
		if err != nil || c.State != ConvActive || !strings.HasPrefix(c.AgentID, "p") || accepted[id] != 1 {
			t.Errorf("%s: %+v %v, accepted %d times", id, c, err, accepted[id])
		}
	}
}

func TestRedisRestartWithAOFLosesNothing(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{AOF: true})
	rc := srv.NewClient(t)
	clock := newFakeClock()
	e, err := New(Params{Client: rc, Clock: clock, PresenceGrace: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.UpsertAgent(ctx, AgentConfig{ID: "a", Capacity: map[string]int{"chat": 3}}))
	must(e.SetAgentState(ctx, "a", StateAvailable, ""))
	var ids []string
	for i := range 6 {
		id := fmt.Sprintf("c%d", i)
		ids = append(ids, id)
		must(e.Enqueue(ctx, Request{ConversationID: id, Channel: chChat}))
		clock.Add(time.Second)
	}
	must(e.Accept(ctx, "c0", "a"))
	must(e.Accept(ctx, "c1", "a"))
	snapshot := func() (map[string]ConvStatus, AgentStatus, []Event) {
		convs := map[string]ConvStatus{}
		for _, id := range ids {
			c, err := e.Conversation(ctx, id)
			must(err)
			convs[id] = c
		}
		a, err := e.Agent(ctx, "a")
		must(err)
		ev, err := e.Events(ctx, "", 1000)
		must(err)
		return convs, a, ev
	}
	convs, agent, events := snapshot()

	srv.Kill()
	if err := srv.Restart(redistest.Options{AOF: true}); err != nil {
		t.Fatal(err)
	}
	convs2, agent2, events2 := snapshot()
	for _, id := range ids {
		if fmt.Sprint(convs[id]) != fmt.Sprint(convs2[id]) {
			t.Errorf("%s before %+v after %+v", id, convs[id], convs2[id])
		}
	}
	if fmt.Sprint(agent) != fmt.Sprint(agent2) || len(events) != len(events2) {
		t.Errorf("agent or events changed across the restart: %+v / %+v, %d / %d events", agent, agent2, len(events), len(events2))
	}
	// Routing carries on: the restarted server has no scripts cached, and
	// the engine reloads them.
	must(e.Accept(ctx, "c2", "a"))
	must(e.Close(ctx, "c0", "a"))
	if c, err := e.Conversation(ctx, "c3"); err != nil || c.State != ConvOffered {
		t.Fatalf("c3 after a slot freed: %+v %v", c, err)
	}
}
