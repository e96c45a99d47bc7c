package webhook

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/routing"
)

// crashChildEnv makes the test binary act as a gateway that delivers
// webhooks until it is SIGKILLed: TestMain runs crashChild instead of the
// tests. Its value is "REDIS_URL workspace".
const crashChildEnv = "SB_WEBHOOK_CRASH_CHILD"

// Figures of the crash test: conversations, each with two routing events
// (queued, abandoned) that must arrive in that order and a message, the receiver's time per
// request (slow, so the child dies with deliveries in flight) and the
// child's delivery workers and lease.
const (
	crashConvs   = 20
	crashSlow    = 100 * time.Millisecond
	crashWorkers = 2
	crashLease   = 3 * time.Second
)

// crashChild is the gateway that dies: it fans out and delivers every
// event of the workspace, says "ready" once its consumer group is there,
// and delivers until the SIGKILL.
func crashChild() int {
	url, ws, _ := strings.Cut(os.Getenv(crashChildEnv), " ")
	ctx := context.Background()
	st, err := store.Open(store.Options{URL: url})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	e, err := routing.New(routing.Params{Client: st.Client, Workspace: ws, EventsMaxLen: 100_000})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	var d net.Dialer
	loopback := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
			fmt.Println("error: the child tried to connect to", addr)
			return nil, fmt.Errorf("crash child: %s refused", addr)
		}
		return d.DialContext(ctx, network, addr)
	}
	convs, err := conversation.New(conversation.Params{Redis: st.Client, Workspace: ws, Router: nopRouter{}, DataDir: os.TempDir()})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	s, err := New(Params{Redis: st.Client, Workspace: ws, Routing: e, Consumer: "child", Workers: crashWorkers, Conversations: convs,
		Dial: loopback, Timeout: 2 * time.Second, Lease: crashLease, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	go func() {
		if err := s.Run(ctx); err != nil {
			fmt.Println("error:", err)
		}
	}()
	for _, stream := range []string{"sb:{" + ws + "}:events", convs.EventsKey()} {
		for {
			if groups, _ := st.Client.XInfoGroups(ctx, stream).Result(); len(groups) > 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	fmt.Println("ready")
	select {}
}

// TestGatewaySIGKILLedMidDelivery: a gateway in its own process delivers
// events of routing's and the conversation service's streams to a slow
// receiver and is SIGKILLed with deliveries in flight;
// another gateway delivers every event at least once, in order per
// conversation, and sends again only what was in flight at the kill (the
// documented crash window, where the receiver drops a repeated id).
func TestGatewaySIGKILLedMidDelivery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := newReceiver(t)
	// The child's requests after the eighth hang until it is dead, so it
	// dies with every worker mid-delivery; then they fail (the child never
	// hears), and only another gateway can deliver those events.
	dead := make(chan struct{})
	var mu sync.Mutex
	var held []string
	r.respond = func(n int, env Envelope) (int, map[string]string) {
		select {
		case <-dead:
		default:
			if n > 8 {
				mu.Lock()
				held = append(held, env.ID)
				mu.Unlock()
				<-dead
				return http.StatusServiceUnavailable, nil
			}
		}
		time.Sleep(crashSlow)
		return http.StatusOK, nil
	}
	register(t, h.service("admin", nil), r, TypeConversationQueued, TypeConversationAbandoned, TypeMessageReceived)
	// The conversation service's stream is the second source: one
	// message per conversation, between its queued and abandoned.
	convs, err := conversation.New(conversation.Params{Redis: server.NewClient(t), Workspace: h.ws, Router: nopRouter{}, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), crashChildEnv+"="+server.URL()+" "+h.ws)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = child.Process.Kill()
		}
		_ = child.Wait()
	})
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("child: %q", lines.Text())
	}
	go func() {
		for lines.Scan() {
			t.Errorf("child: %s", lines.Text())
		}
	}()

	for i := range crashConvs {
		h.enqueue(fmt.Sprintf("K%02d", i))
	}
	for i := range crashConvs {
		if _, err := convs.Receive(h.ctx, channel.Inbound{Channel: channel.SMS, From: fmt.Sprintf("+141555502%02d", i),
			To: "+15550001111", Text: fmt.Sprintf("K%02d", i), ProviderID: fmt.Sprintf("SMK%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range crashConvs {
		h.abandon(fmt.Sprintf("K%02d", i))
	}
	// Every event is fanned out (the group holds nothing unacknowledged, so
	// no event waits for the group's claim time) and some are delivered
	// when the child dies; the rest are queued or in flight.
	rdb := server.NewClient(t)
	waitFor(t, 10*time.Second, "the child's fan-out and first deliveries", func() bool {
		for _, stream := range []string{"sb:{" + h.ws + "}:events", convs.EventsKey()} {
			groups, err := rdb.XInfoGroups(h.ctx, stream).Result()
			if err != nil || len(groups) == 0 || groups[0].Pending != 0 || groups[0].Lag != 0 {
				return false
			}
		}
		mu.Lock()
		inFlight := len(held)
		mu.Unlock()
		return inFlight == crashWorkers
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	_ = child.Wait()
	close(dead)
	before := len(r.delivered())
	if before >= 3*crashConvs {
		t.Fatalf("the child delivered all %d events before it died; the test proves nothing", before)
	}

	// The other gateway: its clock runs a lease ahead, so the child's
	// claims have lapsed for it at once.
	g2 := h.service("g2", func(p *Params) {
		p.Workers, p.Lease = crashWorkers, crashLease
		p.Now = func() time.Time { return time.Now().Add(crashLease + time.Second) }
		p.Conversations = convs
	})
	h.run(g2)
	want := 3 * crashConvs
	waitFor(t, 30*time.Second, "every event delivered", func() bool {
		seen := map[string]bool{}
		for _, e := range r.delivered() {
			seen[e.ID] = true
		}
		return len(seen) == want
	})

	got := r.delivered()
	times := map[string]int{}
	first := map[string]int{} // event id -> position of its first delivery
	for i, e := range got {
		times[e.ID]++
		if _, ok := first[e.ID]; !ok {
			first[e.ID] = i
		}
	}
	var twice []string
	for id, n := range times {
		if n > 1 {
			twice = append(twice, id)
		}
	}
	for _, id := range held {
		if times[id] == 0 {
			t.Errorf("%s, in flight at the kill, was never delivered", id)
		}
	}
	// Only what the child had in flight (one per worker) may come twice.
	if len(twice) > crashWorkers {
		t.Errorf("%d events delivered more than once (%v); at most the %d in flight at the kill may be", len(twice), twice, crashWorkers)
	}
	for i := range crashConvs {
		conv := fmt.Sprintf("K%02d", i)
		q, a := -1, -1
		for _, e := range got {
			if e.Data.ConversationID != conv {
				continue
			}
			switch e.Type {
			case TypeConversationQueued:
				if q < 0 {
					q = first[e.ID]
				}
			case TypeConversationAbandoned:
				if a < 0 {
					a = first[e.ID]
				}
			}
		}
		if q < 0 || a < 0 || a < q {
			t.Errorf("%s: queued first delivered at %d, abandoned at %d; want both, queued first", conv, q, a)
		}
	}
	texts := map[string]bool{}
	for _, e := range got {
		if e.Type == TypeMessageReceived {
			texts[e.Data.Text] = true
		}
	}
	if len(texts) != crashConvs {
		t.Errorf("message.received carried %d distinct texts, want %d", len(texts), crashConvs)
	}
	t.Logf("%d events: %d delivered by the child before its SIGKILL with %d in flight, %d deliveries in all, %d repeated", want, before, len(held), len(got), len(twice))
}
