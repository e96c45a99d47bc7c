package desk

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/internal/conversation"
)

// TestListConversations lists one conversation in every standing (as Ana
// sees it) as Ana and as the supervisor, with filters: agents get their
// own whatever they ask for, supervisors everything.
func TestListConversations(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ids := map[Standing]string{}
	for _, s := range Standings {
		ids[s], _ = e.conversation(ana, s)
	}
	of := func(ss ...Standing) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = ids[s]
		}
		slices.Sort(out)
		return out
	}
	cases := []struct {
		name string
		who  Actor
		q    conversation.ListQuery
		want []string
		err  error
	}{
		{"agent sees what the table lets her see", ana, conversation.ListQuery{},
			of(OfferedToMe, ActiveMine, WrapUp, ClosedMine), nil},
		{"agent's open ones", ana, conversation.ListQuery{States: conversation.ParseStates("open")},
			of(OfferedToMe, ActiveMine), nil},
		{"agent's closed ones, wrap-up included", ana, conversation.ListQuery{States: conversation.ParseStates("closed")},
			of(WrapUp, ClosedMine), nil},
		{"agent asking for herself", ana, conversation.ListQuery{AgentID: ana.AccountID},
			of(OfferedToMe, ActiveMine, WrapUp, ClosedMine), nil},
		{"agent asking for another agent gets an empty page", ana, conversation.ListQuery{AgentID: bo.AccountID},
			of(), nil},
		{"the other agent sees only his", bo, conversation.ListQuery{},
			of(OfferedToOther, ActiveOther, ClosedOther), nil},
		{"supervisor sees all", sam, conversation.ListQuery{}, of(Standings...), nil},
		{"supervisor's open ones", sam, conversation.ListQuery{States: conversation.ParseStates("open")},
			of(Waiting, OfferedToMe, OfferedToOther, ActiveMine, ActiveOther), nil},
		{"supervisor filters by agent", sam, conversation.ListQuery{AgentID: bo.AccountID},
			of(OfferedToOther, ActiveOther, ClosedOther), nil},
		{"bad state", ana, conversation.ListQuery{States: conversation.ParseStates("opne")}, nil, ErrInvalid},
		{"bad cursor, asking for another agent", ana, conversation.ListQuery{AgentID: bo.AccountID, Cursor: "x"}, nil, ErrInvalid},
		{"bad limit", sam, conversation.ListQuery{Limit: 201}, nil, ErrInvalid},
		{"no role", Actor{AccountID: "ana"}, conversation.ListQuery{}, nil, ErrNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, err := e.desk.ListConversations(ctx, c.who, c.q)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, conv := range page.Conversations {
				got = append(got, conv.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	// Paging by three: every conversation once, no repeats.
	var seen []string
	q := conversation.ListQuery{Limit: 3}
	for range 5 {
		page, err := e.desk.ListConversations(ctx, sam, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Conversations {
			seen = append(seen, c.ID)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	slices.Sort(seen)
	if !slices.Equal(seen, of(Standings...)) {
		t.Fatalf("paged %v, want %v", seen, of(Standings...))
	}
}
