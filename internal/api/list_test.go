package api

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/routing"
)

// GET /conversations: an agent lists her own (open, or closed lately),
// never another's; a supervisor lists all and filters by agent; bad
// parameters name the field.
func TestListConversations(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if err := f.engine.UpsertAgent(ctx, routing.AgentConfig{ID: "ana", Name: "Ana", Queues: []string{"support"},
		Capacity: map[string]int{"sms": 10}}); err != nil {
		t.Fatal(err)
	}
	if err := f.engine.SetAgentState(ctx, "ana", routing.StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		r := f.receive(t, channel.Inbound{Channel: channel.SMS, From: fmt.Sprintf("+1415555010%d", i), To: "+1",
			Text: "hi", ProviderID: fmt.Sprintf("SM%d", i)})
		ids = append(ids, r.ConversationID)
		// Each in its own creation millisecond: newest first is then the
		// reverse of arrival (within one, List orders by id).
		time.Sleep(2 * time.Millisecond)
	}
	waiting, active, closed := ids[0], ids[1], ids[2]
	for _, id := range []string{active, closed} {
		if err := f.engine.Transfer(ctx, id, routing.Target{AgentID: "ana"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Offered(ctx, id, "ana", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := f.engine.Accept(ctx, id, "ana"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Accepted(ctx, id, "ana", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if code := f.doAs(t, "ana", "agent", "POST", "/conversations/"+closed+"/close", `{"disposition":"resolved"}`, nil); code != 200 {
		t.Fatalf("close: %d", code)
	}
	since := time.Now().Add(-7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		desc, who, role, query string
		want                   []string
	}{
		{"agent's open ones", "ana", "agent", "?state=open", []string{active}},
		{"agent's closed this week", "ana", "agent", "?state=closed&updated_since=" + since, []string{closed}},
		{"agent asking for another agent's", "ana", "agent", "?agent=bo", nil},
		{"agent with none", "bo", "agent", "", nil},
		{"supervisor's open ones", "sam", "supervisor", "?state=open&channel=sms&queue=support", []string{active, waiting}},
		{"supervisor filters by agent", "sam", "supervisor", "?agent=ana", []string{closed, active}},
		{"nothing updated in the future", "sam", "supervisor", "?updated_since=2999-01-01T00:00:00Z", nil},
	}
	for _, c := range cases {
		var page conversation.ListPage
		if code := f.doAs(t, c.who, c.role, "GET", "/conversations"+c.query, "", &page); code != 200 {
			t.Fatalf("%s: %d", c.desc, code)
		}
		var got []string
		for _, conv := range page.Conversations {
			got = append(got, conv.ID)
		}
		if !slices.Equal(got, c.want) || page.Conversations == nil {
			t.Errorf("%s: %v, want %v (newest first)", c.desc, got, c.want)
		}
	}
	// Paging one at a time visits each once, newest first.
	var paged []string
	for cursor, n := "", 0; n < 5; n++ {
		var page conversation.ListPage
		if code := f.doAs(t, "sam", "supervisor", "GET", "/conversations?limit=1&cursor="+cursor, "", &page); code != 200 {
			t.Fatalf("page %d: %d", n, code)
		}
		for _, conv := range page.Conversations {
			paged = append(paged, conv.ID)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if want := []string{closed, active, waiting}; !slices.Equal(paged, want) {
		t.Fatalf("paged %v, want %v", paged, want)
	}
	for _, c := range []struct{ query, field string }{
		{"?state=opne", "state"},
		{"?channel=fax", "channel"},
		{"?updated_since=yesterday", "updated_since"},
		{"?cursor=zz", "cursor"},
		{"?limit=201", "limit"},
		{"?limit=-1", "limit"},
	} {
		var body errorBody
		if code := f.doAs(t, "ana", "agent", "GET", "/conversations"+c.query, "", &body); code != 400 || body.Field != c.field {
			t.Errorf("%s: %d %+v, want 400 field %s", c.query, code, body, c.field)
		}
	}
}
