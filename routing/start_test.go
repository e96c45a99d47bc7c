package routing

import (
	"errors"
	"slices"
	"testing"
)

// TestStartHoldsTheAgentsSlot: a started conversation is active with its
// agent at once, takes a slot of the agent's capacity (so routing offers
// them one conversation fewer), is not a wait sample, may be retried, and
// frees the slot on close.
func TestStartHoldsTheAgentsSlot(t *testing.T) {
	t.Parallel()
	v := newEnv(t, []QueueConfig{{Name: "support"}})
	v.agent(AgentConfig{ID: "ana", Capacity: map[string]int{chSMS: 2}})
	start := StartRequest{ConversationID: "out1", Queue: "support", Channel: chSMS, CustomerID: "cu1", AgentID: "ana"}
	v.must(v.e.Start(v.ctx, start))
	v.expect("out1", ConvActive, "ana")
	v.must(v.e.Start(v.ctx, start)) // a retry changes nothing
	if a := v.agentStatus("ana"); a.Load[chSMS] != 1 {
		t.Fatalf("sms load %d after start, want 1", a.Load[chSMS])
	}
	if got := v.eventTypes("out1"); !slices.Equal(got, []string{string(EventStarted)}) {
		t.Fatalf("events %v, want one started", got)
	}
	// One slot left: the first waiting text is offered, the second waits.
	v.enqueue(Request{ConversationID: "in1", Queue: "support", Channel: chSMS})
	v.enqueue(Request{ConversationID: "in2", Queue: "support", Channel: chSMS})
	v.expect("in1", ConvOffered, "ana")
	v.expect("in2", ConvWaiting, "")
	// Full now: another start is refused and leaves nothing behind.
	err := v.e.Start(v.ctx, StartRequest{ConversationID: "out2", Queue: "support", Channel: chSMS, AgentID: "ana"})
	if !errors.Is(err, ErrAgentUnavailable) {
		t.Fatalf("start past capacity: %v", err)
	}
	if _, err := v.e.Conversation(v.ctx, "out2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused start left %v", err)
	}
	if err := v.e.Start(v.ctx, StartRequest{ConversationID: "in2", Queue: "support", Channel: chSMS, AgentID: "bo"}); !errors.Is(err, ErrExists) {
		t.Fatalf("starting a live conversation: %v", err)
	}
	if err := v.e.Start(v.ctx, StartRequest{ConversationID: "out3", Queue: "support", Channel: chSMS, AgentID: "nobody"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("start for an unknown agent: %v", err)
	}
	// Closing the started one frees its slot, which the waiting text takes.
	v.must(v.e.Close(v.ctx, "out1", "ana"))
	v.expect("in2", ConvOffered, "ana")
}
