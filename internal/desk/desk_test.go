package desk

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/routing"
)

// A supervisor closes an agent's active conversation: it succeeds (the
// REST API once answered 500 here), routing frees the agent's slot, and
// the transcript names the supervisor as the closer.
func TestSupervisorClosesAnAgentsConversation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id, _ := e.conversation(ana, ActiveMine)
	conv, err := e.desk.Close(ctx, sam, id, "spam")
	if err != nil || conv.State != conversation.StateClosed || conv.Disposition != "spam" || conv.AgentID != ana.AccountID {
		t.Fatalf("close: %+v, %v", conv, err)
	}
	st, err := e.engine.Agent(ctx, ana.AccountID)
	if err != nil || slices.Contains(st.Conversations, id) {
		t.Fatalf("ana still holds it in routing: %+v, %v", st, err)
	}
	entries, err := e.convs.Recent(ctx, id, 5)
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if last.Event != "closed" || last.AgentID != sam.AccountID {
		t.Fatalf("closing entry %+v, want closed by sam", last)
	}
	// Ana now sees a conversation closed by someone else that she served.
	if s, _ := e.desk.Standing(ctx, ana, id); s != ClosedMine {
		t.Fatalf("ana's standing %s", s)
	}
}

// A voice agent who did not pick up: the conversation goes back to its
// original place in line, counted as a missed offer.
func TestMissedReturnsToTheOriginalPlace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	id, _ := e.conversation(ana, ActiveMine)
	before, err := e.engine.Conversation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.desk.Missed(ctx, id, bo.AccountID); !errors.Is(err, ErrOfferGone) {
		t.Fatalf("missed by someone who does not hold it: %v", err)
	}
	if err := e.desk.Missed(ctx, id, ana.AccountID); err != nil {
		t.Fatal(err)
	}
	after, err := e.engine.Conversation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if after.State != routing.ConvWaiting || !after.EnqueuedAt.Equal(before.EnqueuedAt) || after.AgentID != "" {
		t.Fatalf("after a miss: %+v (before %+v)", after, before)
	}
	evs, err := e.engine.Events(ctx, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var missed bool
	for _, ev := range evs {
		missed = missed || (ev.Type == routing.EventExpired && ev.ConversationID == id && ev.AgentID == ana.AccountID && ev.Reason == "missed")
	}
	if !missed {
		t.Fatal("no expired event with reason missed")
	}
}

// A customer who ends a chat nobody took abandons it; one an agent took is
// closed as customer_ended.
func TestCustomerEnded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	waiting, _ := e.conversation(ana, Waiting)
	taken, _ := e.conversation(ana, ActiveMine)
	for _, id := range []string{waiting, taken} {
		if err := e.desk.CustomerEnded(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := e.convs.Conversation(ctx, waiting); c.State != conversation.StateAbandoned {
		t.Fatalf("waiting conversation ended: %+v", c)
	}
	if c, _ := e.convs.Conversation(ctx, taken); c.State != conversation.StateClosed || c.Disposition != dispositionCustomerEnded {
		t.Fatalf("taken conversation ended: %+v", c)
	}
}

// TestAccessEnds is the table of routing events after which an agent no
// longer receives a conversation.
func TestAccessEnds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc string
		ev   routing.Event
		want string
	}{
		{"declined", routing.Event{Type: routing.EventDeclined, AgentID: "a02"}, "a02"},
		{"offer lapsed or withdrawn (away, offline)", routing.Event{Type: routing.EventExpired, AgentID: "a02", Reason: "agent away"}, "a02"},
		{"customer left while offered", routing.Event{Type: routing.EventAbandoned, AgentID: "a02"}, "a02"},
		{"customer left while waiting", routing.Event{Type: routing.EventAbandoned}, ""},
		{"reassigned to another agent", routing.Event{Type: routing.EventTransferred, FromAgent: "a02", AgentID: "a01"}, "a02"},
		{"transferred to a queue", routing.Event{Type: routing.EventTransferred, FromAgent: "a02"}, "a02"},
		{"reassigned to the same agent", routing.Event{Type: routing.EventTransferred, FromAgent: "a02", AgentID: "a02"}, ""},
		{"offered", routing.Event{Type: routing.EventOffered, AgentID: "a02"}, ""},
		{"accepted", routing.Event{Type: routing.EventAccepted, AgentID: "a02"}, ""},
	} {
		if got := accessEnds(tc.ev); got != tc.want {
			t.Errorf("%s: accessEnds = %q, want %q", tc.desc, got, tc.want)
		}
	}
}

// Customers are told an agent's display name when the account has one,
// else the first word of the agent's name; never the full account name.
func TestCustomersSeeTheDisplayName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if err := e.auth.CreateAccount(ctx, auth.Account{ID: ana.AccountID, Name: "Ana Lima", Role: auth.RoleAgent}, "ana-password-1"); err != nil {
		t.Fatal(err)
	}
	conv, _ := e.conversation(ana, ActiveMine)
	if _, err := e.desk.Reply(ctx, ana, conv, "hello", nil); err != nil {
		t.Fatal(err)
	}
	agentName := func() string {
		t.Helper()
		msgs, err := e.desk.Messages(ctx, conv, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.From == FromAgent {
				return m.Name
			}
		}
		t.Fatal("no agent message")
		return ""
	}
	if got := agentName(); got != "Ana" {
		t.Fatalf("without a display name customers see %q, want Ana", got)
	}
	if err := e.auth.SetDisplayName(ctx, ana.AccountID, "Annie (billing)"); err != nil {
		t.Fatal(err)
	}
	if got := agentName(); got != "Annie (billing)" {
		t.Fatalf("customers see %q, want the display name", got)
	}
	if got := e.desk.shownName(ctx, ana.AccountID); got != "Annie (billing)" {
		t.Fatalf("joined and typing name %q", got)
	}
}

// Answered, as channels ask it before a held-back acknowledgement: not
// for a conversation an agent has only taken, yes once the agent replies
// through the desk, and channel.ErrNotFound for an unknown id.
func TestAnsweredOnceTheAgentReplies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	conv, _ := e.conversation(ana, ActiveMine)
	if ok, err := e.desk.Answered(ctx, conv); ok || err != nil {
		t.Fatalf("taken, not answered: %v, %v", ok, err)
	}
	if _, err := e.desk.Reply(ctx, ana, conv, "hello", nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.desk.Answered(ctx, conv); !ok || err != nil {
		t.Fatalf("after the reply: %v, %v", ok, err)
	}
	if _, err := e.desk.Answered(ctx, "cv_nope"); !errors.Is(err, channel.ErrNotFound) {
		t.Fatalf("unknown conversation: %v", err)
	}
}
