package api

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/routing"
)

func TestPromiseRoutes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	if err := f.engine.UpsertAgent(ctx, routing.AgentConfig{ID: "ana", Queues: []string{"support"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.engine.SetAgentState(ctx, "ana", routing.StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	r := f.receive(t, channel.Inbound{Channel: channel.SMS, From: "+14155550123", To: "+1", Text: "refund?", ProviderID: "SMp1"})
	if err := f.engine.Accept(ctx, r.ConversationID, "ana"); err != nil {
		t.Fatal(err)
	}
	base := "/conversations/" + r.ConversationID + "/promises"
	due := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var errBody errorBody
	for _, tc := range []struct{ body, field string }{
		{`{"what":"call back"}`, "due"},
		{`{"what":"","due":"` + due + `"}`, "what"},
		{`{"what":"call back","due":"2020-01-01T00:00:00Z"}`, "due"},
		{`{"what":"call back","due":"` + due + `","customer_time_zone":"Mars/Olympus"}`, "customer_time_zone"},
	} {
		if code := f.do(t, "POST", base, tc.body, &errBody); code != 400 || errBody.Field != tc.field {
			t.Errorf("POST %s: %d %+v; want 400 naming %s", tc.body, code, errBody, tc.field)
		}
	}
	var p promise.Promise
	if code := f.do(t, "POST", base, `{"what":"call back about the refund","due":"`+due+`","message":"I'll call you by {due}.","customer_time_zone":"Europe/Berlin"}`, &p); code != 201 || p.AgentID != "ana" || p.State != promise.Open {
		t.Fatalf("make: %d %+v", code, p)
	}
	var list struct{ Promises []promise.Promise }
	if code := f.do(t, "GET", base, "", &list); code != 200 || len(list.Promises) != 1 || list.Promises[0].ID != p.ID {
		t.Fatalf("list: %d %+v", code, list)
	}
	if code := f.do(t, "GET", "/promises", "", &list); code != 200 || len(list.Promises) != 1 {
		t.Fatalf("mine: %d %+v", code, list)
	}
	if code := f.do(t, "POST", base+"/"+p.ID+"/keep", `{"via":"fax"}`, &errBody); code != 400 || errBody.Field != "via" {
		t.Fatalf("keep via fax: %d %+v", code, errBody)
	}
	if code := f.do(t, "POST", base+"/"+p.ID+"/keep", `{"via":"call","text":"Called: refund approved."}`, &p); code != 200 || p.State != promise.Kept {
		t.Fatalf("keep: %d %+v", code, p)
	}
	if code := f.do(t, "POST", base+"/"+p.ID+"/cancel", "", &errBody); code != 409 {
		t.Fatalf("cancel a kept promise: %d %+v", code, errBody)
	}
	if code := f.do(t, "POST", base+"/pr_nope/cancel", "", &errBody); code != 404 {
		t.Fatalf("cancel an unknown promise: %d", code)
	}
	var tl struct {
		Items []struct{ Kind, State string }
	}
	if code := f.do(t, "GET", "/customers/"+r.CustomerID+"/timeline", "", &tl); code != 200 || len(tl.Items) != 2 {
		t.Fatalf("timeline: %d %+v", code, tl)
	}
	if code := f.doAs(t, "bo", "agent", "GET", "/promises/board", "", &errBody); code != 403 {
		t.Fatalf("board as an agent: %d", code)
	}
	var board promise.Board
	if code := f.do(t, "GET", "/promises/board", "", &board); code != 200 || board.DueSoon == nil {
		t.Fatalf("board: %d %+v", code, board)
	}
	if code := f.doAs(t, "bo", "agent", "GET", "/customers/"+r.CustomerID+"/timeline", "", &errBody); code != 404 {
		t.Fatalf("timeline of a customer bo never served: %d", code)
	}
}
