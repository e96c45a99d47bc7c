package routing

import (
	"errors"
	"testing"
	"time"
)

func TestHolderRead(t *testing.T) {
	t.Parallel()
	v := newEnv(t, nil)
	if _, _, err := v.e.ReadHolder("c1").Result(v.ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown conversation: %v, want ErrNotFound", err)
	}
	v.must(v.e.UpsertAgent(v.ctx, AgentConfig{ID: "ana", Name: "Ana Lima", Capacity: map[string]int{"chat": 1}}))
	v.enqueue(Request{ConversationID: "c1"})
	if a, st, err := v.e.ReadHolder("c1").Result(v.ctx); err != nil || st != ConvWaiting || a != "" {
		t.Fatalf("waiting: %q %s %v", a, st, err)
	}
	v.must(v.e.SetAgentState(v.ctx, "ana", StateAvailable, ""))
	v.expect("c1", ConvOffered, "ana")

	// Queued in a pipeline of the engine's own client, it answers from it.
	rd := v.e.ReadHolder("c1")
	p := v.rc.Pipeline()
	if !rd.Pipe(v.ctx, v.rc, p) {
		t.Fatal("the engine's client refused")
	}
	if _, err := p.Exec(v.ctx); err != nil {
		t.Fatal(err)
	}
	if a, st, err := rd.Result(v.ctx); err != nil || st != ConvOffered || a != "ana" {
		t.Fatalf("piped: %q %s %v", a, st, err)
	}
	if at := rd.AcceptedAt(); !at.IsZero() {
		t.Fatalf("offered, accepted at %v; want none", at)
	}
	// Another client's pipeline is refused; Result reads on its own.
	other := shared.Connect(t)
	rd = v.e.ReadHolder("c1")
	if rd.Pipe(v.ctx, other, other.Pipeline()) {
		t.Fatal("another client's pipeline accepted")
	}
	v.clock.Add(7 * time.Second)
	v.must(v.e.Accept(v.ctx, "c1", "ana"))
	if a, st, err := rd.Result(v.ctx); err != nil || st != ConvActive || a != "ana" {
		t.Fatalf("alone: %q %s %v", a, st, err)
	}
	// The holder's accept, as routing stamped it: a close's handle time
	// counts from it.
	if at, want := rd.AcceptedAt(), v.clock.Now(); !at.Equal(want) {
		t.Fatalf("accepted at %v; want %v", at, want)
	}
	// Closing tells the accept it counted from; let go, routing's accept
	// is no one's hold any more.
	accepted := v.clock.Now()
	v.clock.Add(3 * time.Second)
	if at, err := v.e.CloseHeld(v.ctx, "c1", "ana"); err != nil || !at.Equal(accepted) {
		t.Fatalf("CloseHeld: accepted at %v, %v; want %v", at, err, accepted)
	}
	rd = v.e.ReadHolder("c1")
	if _, st, err := rd.Result(v.ctx); err != nil || st != ConvClosed {
		t.Fatalf("closed: %s %v", st, err)
	}
	if at := rd.AcceptedAt(); !at.IsZero() {
		t.Fatalf("closed, accepted at %v; want none", at)
	}

	if name, err := v.e.AgentName(v.ctx, "ana"); err != nil || name != "Ana Lima" {
		t.Fatalf("AgentName = %q, %v", name, err)
	}
	if name, err := v.e.AgentName(v.ctx, "nobody"); err != nil || name != "" {
		t.Fatalf("AgentName of nobody = %q, %v", name, err)
	}
}
