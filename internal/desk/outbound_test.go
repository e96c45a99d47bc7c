package desk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/routing"
)

// texter is an SMS channel for the desk's tests: it records what it sends
// and refuses numbers that opted out, as channels/sms does.
type texter struct {
	mu      sync.Mutex
	sent    []channel.Outbound
	stopped map[string]bool
}

const texterNumber = "+15550000099"

func (x *texter) Name() channel.Name { return channel.SMS }
func (x *texter) Addresses() []channel.Address {
	return []channel.Address{{Value: texterNumber, Queue: "support"}}
}
func (x *texter) Register(channel.Routes)       {}
func (x *texter) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (x *texter) Send(_ context.Context, out channel.Outbound) (channel.SendResult, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sent = append(x.sent, out)
	return channel.SendResult{ProviderID: fmt.Sprintf("SMout%d", len(x.sent)), Status: "queued"}, nil
}
func (x *texter) MayContact(_ context.Context, address string) error {
	if x.stopped[address] {
		return fmt.Errorf("%s texted STOP: %w", address, channel.ErrOptedOut)
	}
	return nil
}
func (x *texter) sentTo(to string) []channel.Outbound {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []channel.Outbound
	for _, o := range x.sent {
		if o.To == to {
			out = append(out, o)
		}
	}
	return out
}

// assignments records the consoles' Assigned frames.
type assignments struct {
	noConsoles
	mu  sync.Mutex
	got map[string][]string
}

func (a *assignments) Assigned(_ context.Context, agentID string, c Conversation) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got[agentID] = append(a.got[agentID], c.ID)
}

func (a *assignments) of(agentID string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.got[agentID]...)
}

// outboundEnv is the desk's test environment with the texter registered,
// the consoles recorded and the outbox running.
func outboundEnv(t *testing.T) (*env, *texter, *assignments) {
	t.Helper()
	e := newEnv(t)
	x := &texter{stopped: map[string]bool{"+15557770000": true}}
	cons := &assignments{got: map[string][]string{}}
	e.desk.consoles = cons
	e.desk.AddChannel(x)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.convs.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, x, cons
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestStartedConversationIsTheAgentsAndTheReplyLandsInIt: an agent texts
// a customer first; the conversation is active with the agent at once,
// counted against their capacity and on their console; the text leaves
// from our number; the customer's answer joins the same conversation,
// which is in the customer's history.
func TestStartedConversationIsTheAgentsAndTheReplyLandsInIt(t *testing.T) {
	t.Parallel()
	e, x, cons := outboundEnv(t)
	ctx := context.Background()
	const maria = "+46701234567"
	conv, err := e.desk.Start(ctx, ana, StartRequest{Channel: channel.SMS, Address: "+46 70 123 45 67", Text: "Your refund is ready"})
	if err != nil {
		t.Fatal(err)
	}
	if conv.State != conversation.StateActive || conv.AgentID != "ana" || conv.Queue != "support" || conv.CustomerAddress != maria {
		t.Fatalf("started conversation: %+v", conv)
	}
	rc, err := e.engine.Conversation(ctx, conv.ID)
	if err != nil || rc.State != routing.ConvActive || rc.AgentID != "ana" {
		t.Fatalf("routing holds %+v, %v; want active with ana", rc, err)
	}
	a, err := e.engine.Agent(ctx, "ana")
	if err != nil || a.Load["sms"] != 1 {
		t.Fatalf("ana's sms load %v (%v), want 1", a.Load, err)
	}
	if got := cons.of("ana"); len(got) != 1 || got[0] != conv.ID {
		t.Fatalf("ana's console was told of %v, want %s", got, conv.ID)
	}
	waitFor(t, "the first text", func() bool { return len(x.sentTo(maria)) == 1 })
	if out := x.sentTo(maria)[0]; out.From != texterNumber || out.Text != "Your refund is ready" || out.ConversationID != conv.ID {
		t.Fatalf("sent %+v", out)
	}
	// Maria answers; her text joins the conversation ana started.
	r, err := e.desk.Receive(ctx, channel.Inbound{Channel: channel.SMS, From: maria, To: texterNumber, Text: "Thanks!", ProviderID: "SMin1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.ConversationID != conv.ID || r.NewConversation {
		t.Fatalf("the reply went to %s (new %v), want %s", r.ConversationID, r.NewConversation, conv.ID)
	}
	page, err := e.desk.Transcript(ctx, ana, conv.ID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range page.Messages {
		texts = append(texts, m.Kind+":"+m.Text)
	}
	if got := strings.Join(texts, " | "); !strings.Contains(got, "agent:Your refund is ready") || !strings.Contains(got, "customer:Thanks!") {
		t.Fatalf("transcript %s", got)
	}
	hist, err := e.desk.History(ctx, ana, conv.CustomerID, 0, 10)
	if err != nil || len(hist.Conversations) != 1 || hist.Conversations[0].ID != conv.ID {
		t.Fatalf("history %+v, %v", hist, err)
	}
	// A second start to Maria while this one is open is refused, naming it.
	_, err = e.desk.Start(ctx, ana, StartRequest{Channel: channel.SMS, Address: maria, Text: "again"})
	var oe *conversation.OpenError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &oe) || oe.ConversationID != conv.ID {
		t.Fatalf("second start: %v, want ErrConflict naming %s", err, conv.ID)
	}
	// Closing frees ana's slot like any conversation.
	if _, err := e.desk.Close(ctx, ana, conv.ID, "resolved"); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.engine.Agent(ctx, "ana"); a.Load["sms"] != 0 {
		t.Fatalf("after close ana's sms load %d", a.Load["sms"])
	}
}

// TestStartRefusals: opted-out numbers, queues and channels the agent
// does not serve, starting for someone else, a full agent, and an
// integration's automated send outside business hours.
func TestStartRefusals(t *testing.T) {
	t.Parallel()
	e, x, _ := outboundEnv(t)
	ctx := context.Background()
	if err := e.engine.UpsertAgent(ctx, routing.AgentConfig{ID: "dee", Name: "Dee", Queues: []string{"wrap"},
		Capacity: map[string]int{"sms": 1, "email": 0}}); err != nil {
		t.Fatal(err)
	}
	dee := Actor{AccountID: "dee", Name: "Dee", Role: auth.RoleAgent}
	token := Actor{AccountID: "token:crm", Role: auth.RoleSupervisor, Token: true}
	// Open one minute a week, two days from now: closed now.
	day := strings.ToLower(time.Now().UTC().Add(48 * time.Hour).Weekday().String()[:3])
	closed, err := hours.Compile(&hours.Week{Open: []hours.Span{{Days: day, From: "00:00", To: "00:01"}}}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		desc string
		who  Actor
		req  StartRequest
		want error
		says string
	}{
		{"opted out", ana, StartRequest{Channel: channel.SMS, Address: "+15557770000", Text: "hi"}, ErrRefused, "STOP"},
		{"queue not served", dee, StartRequest{Channel: channel.SMS, Address: "+15557770001", Queue: "support", Text: "hi"}, ErrForbidden, "do not serve"},
		{"channel not served", dee, StartRequest{Channel: channel.SMS, Address: "+15557770002", Queue: "wrap", Text: "hi", AgentID: "ana"}, ErrForbidden, "for themselves"},
		{"for someone else", ana, StartRequest{Channel: channel.SMS, Address: "+15557770003", Text: "hi", AgentID: "bo"}, ErrForbidden, "for themselves"},
		{"token names nobody", token, StartRequest{Channel: channel.SMS, Address: "+15557770004", Text: "hi"}, ErrInvalid, "agent_id"},
		{"voice", ana, StartRequest{Channel: channel.Voice, Address: "+15557770005", Text: "hi"}, ErrInvalid, "sms and email"},
		{"no text", ana, StartRequest{Channel: channel.SMS, Address: "+15557770006"}, ErrInvalid, "text"},
		{"bad number", ana, StartRequest{Channel: channel.SMS, Address: "call me", Text: "hi"}, ErrInvalid, "address"},
	}
	for _, c := range cases {
		_, err := e.desk.Start(ctx, c.who, c.req)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %v saying %q", c.desc, err, c.want, c.says)
		}
	}
	// Dee has room for one text on the queue she serves; the second is
	// refused and leaves nothing behind.
	if _, err := e.desk.Start(ctx, dee, StartRequest{Channel: channel.SMS, Address: "+15557770010", Queue: "wrap", Text: "one"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.Start(ctx, dee, StartRequest{Channel: channel.SMS, Address: "+15557770011", Queue: "wrap", Text: "two"}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "capacity") {
		t.Fatalf("start past capacity: %v", err)
	}
	// A supervisor starts one for bo; an integration may too, in business
	// hours only.
	if conv, err := e.desk.Start(ctx, sam, StartRequest{Channel: channel.SMS, Address: "+15557770012", Text: "hello", AgentID: "bo"}); err != nil || conv.AgentID != "bo" {
		t.Fatalf("supervisor's start for bo: %+v, %v", conv, err)
	}
	e.desk.hours = hours.Queues{"support": closed}
	if _, err := e.desk.Start(ctx, token, StartRequest{Channel: channel.SMS, Address: "+15557770013", Text: "sale!", AgentID: "bo"}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "business hours") {
		t.Fatalf("automated send after hours: %v", err)
	}
	if _, err := e.desk.Start(ctx, ana, StartRequest{Channel: channel.SMS, Address: "+15557770014", Text: "following up"}); err != nil {
		t.Fatalf("an agent's own send after hours: %v", err)
	}
	waitFor(t, "three texts", func() bool { x.mu.Lock(); defer x.mu.Unlock(); return len(x.sent) == 3 })
	for _, n := range []string{"+15557770000", "+15557770011", "+15557770013"} {
		if got := x.sentTo(n); len(got) != 0 {
			t.Errorf("a refused start texted %s: %+v", n, got)
		}
	}
}
