package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/redistest"
)

// pager is a channel written against the contract alone (internal/channel):
// customers page us by posting a form to /test/pager; replies and routing
// events are kept for the test to read. It stands in for the next channel
// someone adds: a package plus one line in the list.
type pager struct {
	core channel.Core

	mu     sync.Mutex
	sent   []channel.Outbound
	events []channel.Event
	n      int
}

const pagerAddress = "pager@example.com"

func (p *pager) Name() channel.Name { return channel.Email }

func (p *pager) Addresses() []channel.Address {
	return []channel.Address{{Value: pagerAddress, Queue: "support"}}
}

func (p *pager) Register(r channel.Routes) {
	r.Add(http.MethodPost, "/test/pager", func(c echo.Context) error {
		p.mu.Lock()
		p.n++
		id := fmt.Sprintf("page-%d", p.n)
		p.mu.Unlock()
		rc, err := p.core.Receive(c.Request().Context(), channel.Inbound{Channel: channel.Email,
			From: c.FormValue("from"), To: pagerAddress, Name: c.FormValue("name"), Text: c.FormValue("text"), ProviderID: id})
		if err != nil {
			return c.String(http.StatusBadRequest, err.Error())
		}
		return c.String(http.StatusOK, rc.ConversationID)
	})
}

func (p *pager) Send(_ context.Context, out channel.Outbound) (channel.SendResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, out)
	return channel.SendResult{ProviderID: fmt.Sprintf("sent-%d", len(p.sent)), Status: "sent"}, nil
}

func (p *pager) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func (p *pager) Observe(_ context.Context, ev channel.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, ev)
	return nil
}

// wait polls the pager's record until ok holds.
func (p *pager) wait(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		done := ok()
		p.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pager: %s never happened; sent %+v events %+v", what, p.sent, p.events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *pager) observed(typ channel.EventType) bool {
	return slices.ContainsFunc(p.events, func(ev channel.Event) bool { return ev.Type == typ })
}

// A channel written only against the contract receives, is routed to an
// agent, carries the agent's reply and observes what happens, with no
// change to the wiring beyond its line in the list.
func TestChannelContract(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	p := &pager{}
	list := append(slices.Clone(channelList), channelBuilder{"pager", func(_ context.Context, env channelEnv, _ yaml.Node) (channel.Channel, error) {
		p.core = env.desk
		return p, nil
	}})
	base, _ := startChannels(t, map[string]string{"REDIS_URL": srv.URL(), "SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1"}, list)
	authSvc, err := auth.New(auth.Config{Redis: srv.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := authSvc.CreateAccount(context.Background(), auth.Account{ID: "ana", Name: "Ana Lima", Role: auth.RoleAgent}, "ana-password-1"); err != nil {
		t.Fatal(err)
	}
	agent := dialConsole(t, base, login(t, base, "ana", "ana-password-1"))
	agent.ack(agent.send("state", map[string]any{"state": "available"}))

	resp, err := http.PostForm(base+"/test/pager", url.Values{"from": {"Kim@Example.com"}, "name": {"Kim"}, "text": {"my order?"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	offer := agent.next("offer", ofType("offer"))["offer"].(map[string]any)
	conv := offer["conv"].(string)
	if offer["channel"] != string(channel.Email) || offer["queue"] != "support" {
		t.Fatalf("offer %v", offer)
	}
	agent.ack(agent.send("accept", map[string]any{"conv": conv}))
	p.wait(t, "accepted event naming Ana", func() bool {
		return slices.ContainsFunc(p.events, func(ev channel.Event) bool {
			return ev.Type == channel.EventAccepted && ev.ConversationID == conv && ev.AgentName == "Ana"
		})
	})
	agent.ack(agent.send("reply", map[string]any{"conv": conv, "text": "It ships today."}))
	p.wait(t, "reply sent", func() bool {
		return len(p.sent) == 1 && p.sent[0].Text == "It ships today." && p.sent[0].To == "kim@example.com" && p.sent[0].From == pagerAddress
	})
	agent.ack(agent.send("close", map[string]any{"conv": conv, "disposition": "resolved"}))
	p.wait(t, "closed event", func() bool { return p.observed(channel.EventClosed) })
	if !p.observed(channel.EventOffered) || !p.observed(channel.EventEnqueued) {
		t.Fatalf("events %+v", p.events)
	}
	if strings.Contains(fmt.Sprint(p.events), "customer_ended") {
		t.Fatalf("an agent's close reported as the customer's: %+v", p.events)
	}
}

// restCode names an HTTP status as the console's ack codes do.
func restCode(status int) string {
	switch {
	case status/100 == 2:
		return "ok"
	case status == http.StatusNotFound:
		return "not_found"
	case status == http.StatusForbidden:
		return "forbidden"
	case status == http.StatusConflict:
		return "closed_or_gone"
	}
	return fmt.Sprint(status)
}

// answer is the ack of request id, refused or not.
func answer(c *consoleClient, id string) map[string]any {
	return c.next("ack "+id, func(f map[string]any) bool { return f["type"] == "ack" && f["id"] == id })
}

func ackCode(f map[string]any) string {
	if f["ok"] == true {
		return "ok"
	}
	switch c := f["code"].(string); c {
	case "closed", "offer_gone":
		return "closed_or_gone"
	default:
		return c
	}
}

// The same action by the same person answers the same on the console's
// websocket and through the REST API: an agent gets not_found for another
// agent's conversation on both; a supervisor may note on, reply to and
// close another agent's active conversation on both.
func TestConsoleAndRESTAgree(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	p := &pager{}
	list := append(slices.Clone(channelList), channelBuilder{"pager", func(_ context.Context, env channelEnv, _ yaml.Node) (channel.Channel, error) {
		p.core = env.desk
		return p, nil
	}})
	base, _ := startChannels(t, map[string]string{"REDIS_URL": srv.URL(), "SWITCHBOARD_ADMIN_PASSWORD": "admin-password-1"}, list)
	authSvc, err := auth.New(auth.Config{Redis: srv.NewClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []auth.Account{{ID: "ana", Name: "Ana", Role: auth.RoleAgent}, {ID: "ben", Name: "Ben", Role: auth.RoleAgent},
		{ID: "sue", Name: "Sue", Role: auth.RoleSupervisor}} {
		if err := authSvc.CreateAccount(context.Background(), a, a.ID+"-password-1"); err != nil {
			t.Fatal(err)
		}
	}
	anaCookies := login(t, base, "ana", "ana-password-1")
	ana := dialConsole(t, base, anaCookies)
	ana.ack(ana.send("state", map[string]any{"state": "available"}))
	// Two conversations of Ana's, so each transport acts on one in the same state.
	var convs []string
	for i := range 2 {
		resp, err := http.PostForm(base+"/test/pager", url.Values{"from": {fmt.Sprintf("c%d@example.com", i)}, "text": {"hello"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		conv := ana.next("offer", ofType("offer"))["offer"].(map[string]any)["conv"].(string)
		ana.ack(ana.send("accept", map[string]any{"conv": conv}))
		convs = append(convs, conv)
	}

	type step struct {
		who, action, want string
	}
	steps := []step{
		{"ben", "see", "not_found"}, {"ben", "note", "not_found"}, {"ben", "reply", "not_found"}, {"ben", "close", "not_found"},
		{"sue", "see", "ok"}, {"sue", "note", "ok"}, {"sue", "reply", "ok"}, {"sue", "close", "ok"},
		{"sue", "reply", "closed_or_gone"},
	}
	for _, who := range []string{"ben", "sue"} {
		cookies := login(t, base, who, who+"-password-1")
		console := dialConsole(t, base, cookies)
		csrf := csrfToken(t, base, cookies)
		for _, s := range steps {
			if s.who != who {
				continue
			}
			var got [2]string
			// The console acts on the first conversation, REST on the second.
			switch s.action {
			case "see":
				got[0] = ackCode(answer(console, console.send("resume", map[string]any{"conv": convs[0], "after_id": ""})))
				got[1] = restCode(getStatus(t, base+"/api/v1/conversations/"+convs[1], cookies))
			case "note", "reply":
				typ, path := "note", "/notes"
				if s.action == "reply" {
					typ, path = "reply", "/messages"
				}
				got[0] = ackCode(answer(console, console.send(typ, map[string]any{"conv": convs[0], "text": "from " + who})))
				got[1] = restCode(postJSON(t, base+"/api/v1/conversations/"+convs[1]+path, cookies, csrf, `{"text":"from `+who+`"}`))
			case "close":
				got[0] = ackCode(answer(console, console.send("close", map[string]any{"conv": convs[0], "disposition": "resolved"})))
				got[1] = restCode(postJSON(t, base+"/api/v1/conversations/"+convs[1]+"/close", cookies, csrf, `{"disposition":"resolved"}`))
			}
			if got[0] != s.want || got[1] != s.want {
				t.Errorf("%s %s: console %s, REST %s, want %s on both", who, s.action, got[0], got[1], s.want)
			}
		}
	}
}
