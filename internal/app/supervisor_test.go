package app

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/internal/stats"
	"github.com/switchboard/switchboard/routing"
)

// TestTwoGatewaysShowIdenticalFigures runs two routing engines and two stats
// services on one real Redis, as two gateways would, makes conversations
// happen through both, and checks that both fold the same figures — the
// ones worked out by hand below.
func TestTwoGatewaysShowIdenticalFigures(t *testing.T) {
	t.Parallel()
	srv := redistest.StartBackend(t, redistest.Options{}) // a cluster in make test's second pass
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var now atomic.Int64 // the boards' clock, frozen for the comparison
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }

	engines := make([]*routing.Engine, 2)
	services := make([]*stats.Service, 2)
	done := make(chan struct{}, 2)
	for i := range engines {
		e, err := routing.New(routing.Params{Client: srv.Connect(t), Workspace: "two"})
		if err != nil {
			t.Fatal(err)
		}
		engines[i] = e
		s, err := stats.New(stats.Config{Source: desk.StatsSource{Engine: e}, Now: clock, Resync: 100 * time.Millisecond,
			Queues: []stats.QueueInfo{{Name: "support", ServiceLevel: 20 * time.Second, WaitLimit: time.Minute}}})
		if err != nil {
			t.Fatal(err)
		}
		services[i] = s
		go func() { _ = s.Run(ctx); done <- struct{}{} }()
	}
	defer func() { cancel(); <-done; <-done }()

	a, b := engines[0], engines[1]
	if err := a.UpsertAgent(ctx, routing.Agent{ID: "ana", Name: "Ana"}); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// c1 waits 1.5 s, is answered on gateway A, handled on B; c2 abandons
	// after 1 s (a short abandon); c3 is still waiting at the end.
	must(b.Enqueue(ctx, routing.Request{ConversationID: "c1", Queue: "support", Channel: "chat"}))
	time.Sleep(1500 * time.Millisecond)
	must(b.SetAgentState(ctx, "ana", routing.StateAvailable, ""))
	must(a.Accept(ctx, "c1", "ana"))
	must(a.Enqueue(ctx, routing.Request{ConversationID: "c2", Queue: "support", Channel: "sms"}))
	time.Sleep(time.Second)
	must(b.Abandon(ctx, "c2", routing.CauseCustomer))
	time.Sleep(200 * time.Millisecond)
	must(b.Close(ctx, "c1", "ana"))
	must(b.SetAgentState(ctx, "ana", routing.StateAway, "lunch"))
	must(a.Enqueue(ctx, routing.Request{ConversationID: "c3", Queue: "support", Channel: "chat"}))

	evs, err := a.Events(ctx, "", 0)
	must(err)
	last := evs[len(evs)-1].ID
	deadline := time.Now().Add(5 * time.Second)
	for _, s := range services {
		for s.Figures().LastEventID != last {
			if time.Now().After(deadline) {
				t.Fatalf("a gateway did not fold up to %s", last)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	now.Store(time.Now().UnixNano())
	boards := make([]string, 2)
	for i, s := range services {
		bd, err := s.Board(ctx)
		must(err)
		j, err := json.Marshal(bd)
		must(err)
		boards[i] = string(j)
	}
	if boards[0] != boards[1] {
		t.Fatalf("the gateways disagree:\n%.3000s\n%.3000s", boards[0], boards[1])
	}

	bd := services[0].Figures()
	q := bd.Queues[0]
	chat, sms := q.Channels[0], q.Channels[1]
	if chat.Channel != "chat" || sms.Channel != "sms" {
		t.Fatalf("channels: %+v", q.Channels)
	}
	if chat.Today.Offered != 2 || chat.Today.Answered != 1 || chat.Waiting != 1 || *chat.Today.ServiceLevel != 1 ||
		chat.Today.ASAms < 1500 || chat.Today.ASAms > 3000 || chat.Today.AHTms < 200 || chat.Today.AHTms > 2000 {
		t.Fatalf("chat: %+v", chat)
	}
	if sms.Today.Offered != 1 || sms.Today.ShortAbandoned != 1 || sms.Today.Abandoned != 0 || *sms.Today.AbandonRate != 0 {
		t.Fatalf("sms: %+v", sms.Today)
	}
	full, err := services[1].Board(ctx)
	must(err)
	if len(full.Agents) != 1 || full.Agents[0].State != "away" || full.Agents[0].Handled != 1 || full.Agents[0].Answered != 1 {
		t.Fatalf("agents: %+v", full.Agents)
	}
}

func TestSupervisorQueueFieldsFromTheQueuesSection(t *testing.T) {
	t.Parallel()
	var doc struct {
		Queues yaml.Node `yaml:"queues"`
	}
	src := "queues:\n  - name: support\n    service_level_seconds: 20\n    short_abandon_seconds: 8\n    service_level_target: 0.9\n  - name: billing\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	got, err := supervisorQueueFields(doc.Queues)
	if err != nil {
		t.Fatal(err)
	}
	if got["support"].ShortAbandonSeconds != 8 || got["support"].ServiceLevelTarget != 0.9 || got["billing"].ServiceLevelTarget != 0 {
		t.Fatalf("%+v", got)
	}
	if err := yaml.Unmarshal([]byte("queues:\n  - name: x\n    service_level_target: 80\n"), &doc); err != nil {
		t.Fatal(err)
	}
	if _, err := supervisorQueueFields(doc.Queues); err == nil {
		t.Fatal("a target of 80 (meant as percent) must be refused")
	}
}
