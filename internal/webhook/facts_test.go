package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/internal/survey"
)

// nopRouter takes every conversation: these tests watch the conversation
// service's own events, not routing's.
type nopRouter struct{}

func (nopRouter) Enqueue(context.Context, conversation.RouteRequest) error     { return nil }
func (nopRouter) Abandon(context.Context, string) error                        { return nil }
func (nopRouter) Close(context.Context, string, string) error                  { return nil }
func (nopRouter) Transfer(context.Context, conversation.TransferRequest) error { return nil }

// startRouter is nopRouter that also lets agents start conversations
// (conversation.Starter); beforeStore, when set, runs once routing holds
// the conversation and before the record is stored.
type startRouter struct {
	nopRouter
	beforeStore func()
}

func (r *startRouter) Start(context.Context, conversation.RouteRequest, string) error {
	if r.beforeStore != nil {
		r.beforeStore()
	}
	return nil
}

// promiseRouter: the agent can always take the conversation back.
type promiseRouter struct{}

func (promiseRouter) Owner(context.Context, string, string) (string, bool, error) {
	return "available", true, nil
}
func (promiseRouter) Return(context.Context, string, string, int) error { return nil }

// smsSender accepts every message and names it SM<message id>.
type smsSender struct {
	mu   sync.Mutex
	sent []channel.Outbound
}

func (s *smsSender) Send(_ context.Context, out channel.Outbound) (channel.SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, out)
	return channel.SendResult{ProviderID: "SM" + out.MessageID}, nil
}

// clock is a settable time for the promise service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// facts is the conversation, promise and survey services of one
// workspace, feeding a webhook service.
type facts struct {
	h        *harness
	router   *startRouter
	convs    *conversation.Service
	promises *promise.Service
	surveys  *survey.Service
	sms      *smsSender
	clock    *clock
}

func newFacts(h *harness) *facts {
	t := h.t
	f := &facts{h: h, router: &startRouter{}, sms: &smsSender{}, clock: &clock{t: time.Now()}}
	var err error
	f.convs, err = conversation.New(conversation.Params{Redis: server.NewClient(t), Workspace: h.ws, Router: f.router,
		Senders: map[channel.Name]conversation.Sender{channel.SMS: f.sms}, DataDir: t.TempDir(),
		Outbox: conversation.OutboxConfig{Poll: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.convs.Run(h.ctx) }()
	f.promises, err = promise.New(promise.Params{Redis: server.NewClient(t), Workspace: h.ws, Router: promiseRouter{}, Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	f.surveys, err = survey.New(survey.Params{Redis: server.NewClient(t), Workspace: h.ws,
		Config: survey.Config{DelaySeconds: map[string]int{"sms": 0},
			SendHours: &hours.Week{Open: []hours.Span{{Days: "mon-sun", From: "00:00", To: "24:00"}}}},
		PublicURL: "https://support.example.test", Secret: []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	f.surveys.AddSender(channel.SMS, f.sms)
	return f
}

// service builds a webhook service fed by every source.
func (f *facts) service(name string, mod func(*Params)) *Service {
	return f.h.service(name, func(p *Params) {
		p.Conversations, p.Promises, p.Ratings = f.convs, f.promises, f.surveys
		if mod != nil {
			mod(p)
		}
	})
}

// run starts s and waits for its groups on every stream.
func (f *facts) run(s *Service) (stop func()) {
	stop = f.h.run(s)
	for _, st := range []string{f.convs.EventsKey(), f.promises.EventsKey(), f.surveys.EventsKey()} {
		waitFor(f.h.t, 5*time.Second, "consumer group on "+st, func() bool {
			groups, _ := s.rdb.XInfoGroups(f.h.ctx, st).Result()
			return len(groups) > 0
		})
	}
	return stop
}

func (f *facts) receive(from, text, providerID string) channel.Receipt {
	f.h.t.Helper()
	r, err := f.convs.Receive(f.h.ctx, channel.Inbound{Channel: channel.SMS, From: from, To: "+15550001111",
		Name: "Maria", Text: text, ProviderID: providerID})
	if err != nil {
		f.h.t.Fatal(err)
	}
	return r
}

// byType waits until the receiver holds want envelopes of typ and returns
// them.
func byType(t *testing.T, r *receiver, typ string, want int) []Envelope {
	t.Helper()
	var got []Envelope
	waitFor(t, 10*time.Second, fmt.Sprintf("%d %s", want, typ), func() bool {
		got = got[:0]
		for _, e := range r.delivered() {
			if e.Type == typ {
				got = append(got, e)
			}
		}
		return len(got) >= want
	})
	return got
}

// TestFactEventsReachEndpoints: each new event type reaches a subscribed
// endpoint, signed (the receiver verifies), with the data the schema in
// docs/webhooks.md promises; an endpoint asking only for rating.received
// gets that and nothing else.
func TestFactEventsReachEndpoints(t *testing.T) {
	h := newHarness(t)
	f := newFacts(h)
	s := f.service("gw1", nil)
	all, ratingsOnly := newReceiver(t), newReceiver(t)
	register(t, s, all)
	onlyEP := register(t, s, ratingsOnly, TypeRatingReceived)
	start := time.Now()
	f.run(s)
	ctx := h.ctx

	// A first message: a new customer and their message; a redelivery of
	// the same provider id is no second message.
	r := f.receive("+14155550100", "Is my refund on its way?", "SMin1")
	f.receive("+14155550100", "Is my refund on its way?", "SMin1")
	created := byType(t, all, TypeCustomerCreated, 1)[0]
	if d := created.Data; d.CustomerID != r.CustomerID || d.Identity != "phone:+14155550100" || d.Name != "Maria" ||
		d.Channel != "sms" || d.ConversationID != r.ConversationID || created.Workspace != h.ws || !strings.HasPrefix(created.ID, "evt_cv_") {
		t.Errorf("customer.created %+v", created)
	}
	recv := byType(t, all, TypeMessageReceived, 1)[0]
	if d := recv.Data; d.ConversationID != r.ConversationID || d.CustomerID != r.CustomerID || d.MessageID != r.MessageID ||
		d.Text != "Is my refund on its way?" || d.ProviderID != "SMin1" || !d.NewConversation || d.Channel != "sms" || d.Queue == "" {
		t.Errorf("message.received %+v", recv.Data)
	}
	if recv.OccurredAt.IsZero() || time.Since(recv.OccurredAt) > time.Minute {
		t.Errorf("occurred_at %v", recv.OccurredAt)
	}
	// The conversation is created by that message: once, and delivered
	// before it.
	opened := byType(t, all, TypeConversationCreated, 1)[0]
	if d := opened.Data; d.ConversationID != r.ConversationID || d.CustomerID != r.CustomerID || d.Channel != "sms" ||
		d.Queue != recv.Data.Queue || opened.ID != recv.ID+"_created" {
		t.Errorf("conversation.created %+v (id %s; message %s)", d, opened.ID, recv.ID)
	}
	if order := all.deliveredIDs(); slices.Index(order, opened.ID) > slices.Index(order, recv.ID) {
		t.Errorf("conversation.created delivered after its first message: %v", order)
	}

	// An agent's reply goes out, then the provider reports delivery.
	reply, err := f.convs.Reply(ctx, r.ConversationID, "ana", "Yes, it left today.", nil)
	if err != nil {
		t.Fatal(err)
	}
	sent := byType(t, all, TypeMessageSent, 1)[0]
	if d := sent.Data; d.MessageID != reply.MessageID || d.AgentID != "ana" || d.Text != "Yes, it left today." ||
		d.ProviderID != "SM"+reply.MessageID || d.Status != "sent" || d.CustomerID != r.CustomerID || d.ConversationID != r.ConversationID {
		t.Errorf("message.sent %+v", sent.Data)
	}
	if err := f.convs.UpdateDelivery(ctx, channel.DeliveryStatus{Channel: channel.SMS, ProviderID: "SM" + reply.MessageID, Status: "delivered"}); err != nil {
		t.Fatal(err)
	}
	if err := f.convs.UpdateDelivery(ctx, channel.DeliveryStatus{Channel: channel.SMS, ProviderID: "SM" + reply.MessageID,
		Status: "undelivered", ErrorCode: "30005", ErrorText: "Unknown destination handset"}); err != nil {
		t.Fatal(err)
	}
	st := byType(t, all, TypeMessageDeliveryStatus, 2)
	if d := st[0].Data; d.MessageID != reply.MessageID || d.Status != "delivered" || d.ProviderID != "SM"+reply.MessageID || d.AgentID != "ana" {
		t.Errorf("message.delivery_status %+v", d)
	}
	if d := st[1].Data; d.Status != "undelivered" || d.ErrorCode != "30005" || d.ErrorText != "Unknown destination handset" {
		t.Errorf("second message.delivery_status %+v", d)
	}

	// The customer is renamed and tagged, then another customer is merged in.
	if _, err := f.convs.UpdateCustomer(ctx, r.CustomerID, conversation.CustomerUpdate{Name: ptr("Maria Lopez"), Tags: &[]string{"VIP"}}); err != nil {
		t.Fatal(err)
	}
	upd := byType(t, all, TypeCustomerUpdated, 1)[0]
	if d := upd.Data; d.CustomerID != r.CustomerID || !slices.Equal(d.Changes, []string{"name", "tags"}) || d.Name != "Maria Lopez" ||
		!slices.Equal(d.Tags, []string{"vip"}) || !slices.Equal(d.Identities, []string{"phone:+14155550100"}) {
		t.Errorf("customer.updated %+v", d)
	}
	other := f.receive("+14155550199", "same person, other phone", "SMin2")
	if _, err := f.convs.Merge(ctx, r.CustomerID, other.CustomerID); err != nil {
		t.Fatal(err)
	}
	merged := byType(t, all, TypeCustomerMerged, 1)[0]
	if d := merged.Data; d.CustomerID != r.CustomerID || d.MergedCustomerID != other.CustomerID {
		t.Errorf("customer.merged %+v", d)
	}

	// Promises: one kept, one broken, one that falls due while its agent
	// holds the conversation.
	mk := func(what string, in time.Duration) promise.Promise {
		t.Helper()
		p, err := f.promises.Make(ctx, promise.Request{ConversationID: r.ConversationID, CustomerID: r.CustomerID, AgentID: "ana",
			Queue: "support", Channel: "sms", What: what, Due: f.clock.now().Add(in)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	kept, broken, due := mk("refund confirmation", time.Hour), mk("call back", time.Hour), mk("check the parcel", time.Minute)
	if _, err := f.promises.Keep(ctx, kept.ID, promise.ViaReply); err != nil {
		t.Fatal(err)
	}
	if _, err := f.promises.Cancel(ctx, broken.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.add(2 * time.Minute)
	if err := f.promises.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	made := byType(t, all, TypePromiseMade, 3)
	if d := made[0].Data; d.PromiseID != kept.ID || d.What != "refund confirmation" || d.ConversationID != r.ConversationID ||
		d.CustomerID != r.CustomerID || d.AgentID != "ana" || d.Channel != "sms" || !d.Due.Equal(kept.Due) {
		t.Errorf("promise.made %+v", d)
	}
	if d := byType(t, all, TypePromiseKept, 1)[0].Data; d.PromiseID != kept.ID || d.State != "kept" || d.Via != "reply" || d.LateMS != 0 {
		t.Errorf("promise.kept %+v", d)
	}
	if d := byType(t, all, TypePromiseBroken, 1)[0].Data; d.PromiseID != broken.ID || d.State != "broken" || d.What != "call back" {
		t.Errorf("promise.broken %+v", d)
	}
	if d := byType(t, all, TypePromiseDue, 1)[0].Data; d.PromiseID != due.ID || d.Returned != promise.ReturnedHeld || d.What != "check the parcel" {
		t.Errorf("promise.due %+v", d)
	}

	// The conversation is closed as resolved; the customer rates it.
	conv, err := f.convs.Conversation(ctx, r.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	conv.State, conv.Disposition, conv.AgentID, conv.ClosedAt = conversation.StateClosed, "resolved", "ana", time.Now()
	if err := f.surveys.Closed(ctx, conv, "Ana"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.surveys.SendDue(ctx); err != nil || n != 1 {
		t.Fatalf("surveys sent %d, %v", n, err)
	}
	if err := f.surveys.Rate(ctx, r.ConversationID, 5, "quick and kind"); err != nil {
		t.Fatal(err)
	}
	rating := byType(t, all, TypeRatingReceived, 1)[0]
	if d := rating.Data; d.ConversationID != r.ConversationID || d.Score != 5 || d.Comment != "quick and kind" ||
		d.AgentID != "ana" || d.Channel != "sms" || d.CustomerID != r.CustomerID || !strings.HasPrefix(rating.ID, "evt_rt_") {
		t.Errorf("rating.received %+v", rating)
	}

	// Subscription: the ratings-only endpoint got that one event.
	got := byType(t, ratingsOnly, TypeRatingReceived, 1)
	time.Sleep(300 * time.Millisecond) // anything else queued would have arrived by now
	if n := len(ratingsOnly.delivered()); n != 1 || got[0].ID != rating.ID {
		t.Errorf("ratings-only endpoint got %d deliveries: %+v", n, ratingsOnly.delivered())
	}
	// Replay since the start reads the rating stream again: the one rating,
	// same id.
	if n, err := s.ReplaySince(ctx, onlyEP.ID, start); err != nil || n != 1 {
		t.Errorf("replay since queued %d, %v; want 1", n, err)
	}
	if again := byType(t, ratingsOnly, TypeRatingReceived, 2); again[1].ID != rating.ID {
		t.Errorf("replayed %s, want %s", again[1].ID, rating.ID)
	}
	// Nothing was delivered twice (the redelivered inbound made no event).
	seen := map[string]bool{}
	for _, e := range all.delivered() {
		if seen[e.ID] {
			t.Errorf("%s delivered twice", e.ID)
		}
		seen[e.ID] = true
	}
	if n := len(byType(t, all, TypeMessageReceived, 2)); n != 2 {
		t.Errorf("%d message.received, want 2 (one per distinct inbound)", n)
	}
}

// TestAnAgentsStartIsCreatedOnlyWhenStored: a conversation an agent
// starts is conversation.created (reason outbound, the agent named) and
// then conversation.assigned to that agent, once each, when its record is
// stored. A start the record refuses (the customer wrote in while routing
// was taking the agent's start) gives neither: routing held it and let it
// go, and an integration told it was created would wait for a close that
// never comes.
func TestAnAgentsStartIsCreatedOnlyWhenStored(t *testing.T) {
	h := newHarness(t)
	f := newFacts(h)
	s := f.service("gw1", nil)
	rcv := newReceiver(t)
	register(t, s, rcv, TypeConversationCreated, TypeConversationAssigned)
	f.run(s)
	ctx := h.ctx

	started, err := f.convs.Start(ctx, conversation.StartRequest{Channel: channel.SMS, CustomerAddress: "+14155550140",
		OurAddress: "+15550001111", Queue: "support", AgentID: "ana", Text: "Your replacement ships today."})
	if err != nil {
		t.Fatal(err)
	}
	conv := started.Conversation
	created := byType(t, rcv, TypeConversationCreated, 1)[0]
	assigned := byType(t, rcv, TypeConversationAssigned, 1)[0]
	for _, e := range []Envelope{created, assigned} {
		if d := e.Data; d.ConversationID != conv.ID || d.CustomerID != conv.CustomerID || d.AgentID != "ana" ||
			d.Reason != "outbound" || d.Channel != "sms" || d.Queue != "support" || d.WaitMS != 0 {
			t.Errorf("%s %+v", e.Type, d)
		}
	}
	if order := rcv.deliveredIDs(); len(order) != 2 || order[0] != created.ID || created.ID != assigned.ID+"_created" {
		t.Errorf("deliveries %v; want %s, then %s", order, assigned.ID+"_created", assigned.ID)
	}

	// The customer writes in while routing takes the agent's start: the
	// record refuses the start, and routing lets it go.
	var wrote channel.Receipt
	f.router.beforeStore = func() { wrote = f.receive("+14155550141", "Hello? I need help", "SMrace") }
	_, err = f.convs.Start(ctx, conversation.StartRequest{Channel: channel.SMS, CustomerAddress: "+14155550141",
		OurAddress: "+15550001111", Queue: "support", AgentID: "ana", Text: "Checking in on your order."})
	if !errors.Is(err, conversation.ErrOpenConversation) {
		t.Fatalf("start raced by the customer's message: %v; want ErrOpenConversation", err)
	}
	// The customer's own conversation is created (by their message): the
	// refused start, which came first, would have been delivered before it.
	byType(t, rcv, TypeConversationCreated, 2)
	time.Sleep(200 * time.Millisecond) // anything else queued would have arrived by now
	var got []string
	for _, e := range rcv.delivered() {
		got = append(got, e.Type+" "+e.Data.ConversationID)
	}
	want := []string{TypeConversationCreated + " " + conv.ID, TypeConversationAssigned + " " + conv.ID,
		TypeConversationCreated + " " + wrote.ConversationID}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v; want %v", got, want)
	}
}

// TestMessageEventsInOrderPerConversation: one conversation's messages
// reach an endpoint in the order they were stored, although the receiver
// fails every third request and two gateways share the fan-out.
func TestMessageEventsInOrderPerConversation(t *testing.T) {
	h := newHarness(t)
	f := newFacts(h)
	gw1, gw2 := f.service("gw1", nil), f.service("gw2", nil)
	rcv := newReceiver(t)
	rcv.respond = func(n int, _ Envelope) (int, map[string]string) {
		if n%3 == 0 {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	}
	register(t, gw1, rcv, TypeMessageReceived, TypeConversationCreated)
	f.run(gw1)
	f.run(gw2)

	const n = 30
	var convs [2]string
	for i := 0; i < n; i++ {
		for c, from := range []string{"+14155550101", "+14155550102"} {
			r := f.receive(from, fmt.Sprintf("%d", i), fmt.Sprintf("SM%d-%d", c, i))
			convs[c] = r.ConversationID
		}
	}
	byType(t, rcv, TypeMessageReceived, 2*n)
	for c, conv := range convs {
		var texts []string
		for i, e := range slices.DeleteFunc(rcv.delivered(), func(e Envelope) bool { return e.Data.ConversationID != conv }) {
			if (i == 0) != (e.Type == TypeConversationCreated) {
				t.Fatalf("conversation %d: %s at place %d; conversation.created must come first, once", c, e.Type, i)
			}
			if e.Type == TypeMessageReceived {
				texts = append(texts, e.Data.Text)
			}
		}
		if len(texts) != n {
			t.Fatalf("conversation %d: %d messages delivered, want %d", c, len(texts), n)
		}
		for i, text := range texts {
			if text != fmt.Sprint(i) {
				t.Fatalf("conversation %d out of order: %v", c, texts)
			}
		}
	}
}

// TestFactEventOfDeadGatewayIsTakenOver: an entry a gateway read from the
// conversation stream and never acknowledged (it was killed before it
// queued the deliveries) is claimed by another gateway after ClaimAfter
// and delivered once; entries nobody read are delivered as usual.
func TestFactEventOfDeadGatewayIsTakenOver(t *testing.T) {
	h := newHarness(t)
	f := newFacts(h)
	rdb := server.NewClient(t)
	// The dead gateway: it joined the group, read one entry and died.
	if err := rdb.XGroupCreateMkStream(h.ctx, f.convs.EventsKey(), group, "$").Err(); err != nil {
		t.Fatal(err)
	}
	first := f.receive("+14155550103", "read by the dead gateway", "SMdead")
	res, err := rdb.XReadGroup(h.ctx, &redis.XReadGroupArgs{Group: group, Consumer: "dead",
		Streams: []string{f.convs.EventsKey(), ">"}, Count: 10}).Result()
	if err != nil || len(res) != 1 || len(res[0].Messages) != 2 { // customer.created, message.received
		t.Fatalf("dead gateway read %v, %v", res, err)
	}

	s := f.service("alive", func(p *Params) { p.ClaimAfter = 300 * time.Millisecond })
	rcv := newReceiver(t)
	register(t, s, rcv, TypeMessageReceived)
	f.run(s)
	second := f.receive("+14155550103", "after the crash", "SMalive")
	byType(t, rcv, TypeMessageReceived, 2)
	time.Sleep(500 * time.Millisecond) // a second claim would deliver again by now
	got := rcv.delivered()
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want 2: %+v", len(got), got)
	}
	ids := map[string]string{}
	for _, e := range got {
		ids[e.Data.MessageID] = e.Data.Text
	}
	if ids[first.MessageID] != "read by the dead gateway" || ids[second.MessageID] != "after the crash" {
		t.Fatalf("delivered %v", ids)
	}
	pending, err := rdb.XPending(h.ctx, f.convs.EventsKey(), group).Result()
	if err != nil || pending.Count != 0 {
		t.Fatalf("still pending after the take-over: %+v, %v", pending, err)
	}
}

// countingConversations counts the record reads the fan-out makes.
type countingConversations struct {
	Conversations
	reads atomic.Int64
}

func (c *countingConversations) Conversation(ctx context.Context, id string) (conversation.Conversation, error) {
	c.reads.Add(1)
	return c.Conversations.Conversation(ctx, id)
}

func (c *countingConversations) Entry(ctx context.Context, convID, entryID string) (conversation.Entry, error) {
	c.reads.Add(1)
	return c.Conversations.Entry(ctx, convID, entryID)
}

func (c *countingConversations) Customer(ctx context.Context, id string) (conversation.Customer, error) {
	c.reads.Add(1)
	return c.Conversations.Customer(ctx, id)
}

// TestRecordsAreReadOnlyForEventsSomeoneTakes: with no endpoint taking
// message or customer events, handling them reads no record; once one
// does, its envelopes carry what the records say.
func TestRecordsAreReadOnlyForEventsSomeoneTakes(t *testing.T) {
	h := newHarness(t)
	f := newFacts(h)
	counted := &countingConversations{Conversations: f.convs}
	s := f.service("gw1", func(p *Params) { p.Conversations = counted })
	register(t, s, newReceiver(t), TypeRatingReceived)
	f.run(s)

	r := f.receive("+14155550120", "Where is my parcel?", "SMq1")
	if _, err := f.convs.Reply(h.ctx, r.ConversationID, "ana", "On its way.", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.convs.UpdateCustomer(h.ctx, r.CustomerID, conversation.CustomerUpdate{Name: ptr("Kim")}); err != nil {
		t.Fatal(err)
	}
	// Every entry so far handled: the group has read to the end and holds
	// nothing pending.
	stream := f.convs.EventsKey()
	waitFor(t, 10*time.Second, "the fan-out to handle every entry", func() bool {
		last, err := s.rdb.XRevRangeN(h.ctx, stream, "+", "-", 1).Result()
		if err != nil || len(last) != 1 {
			return false
		}
		groups, err := s.rdb.XInfoGroups(h.ctx, stream).Result()
		return err == nil && len(groups) == 1 && groups[0].LastDeliveredID == last[0].ID && groups[0].Pending == 0
	})
	if n := counted.reads.Load(); n != 0 {
		t.Fatalf("%d record reads for events no endpoint takes", n)
	}

	msgs := newReceiver(t)
	register(t, s, msgs, TypeMessageReceived)
	f.receive("+14155550120", "It has not arrived.", "SMq2")
	got := byType(t, msgs, TypeMessageReceived, 1)[0]
	if got.Data.Text != "It has not arrived." || got.Data.Queue == "" {
		t.Fatalf("message.received without what the records say: %+v", got.Data)
	}
	if counted.reads.Load() == 0 {
		t.Fatal("the envelope was filled without reading the records")
	}
}

// TestDocsDescribeEveryType: docs/webhooks.md lists every event type in
// the envelope's enum and gives each a schema of its data.
func TestDocsDescribeEveryType(t *testing.T) {
	b, err := os.ReadFile("../../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, typ := range append(slices.Clone(Types), TypePing) {
		if !strings.Contains(doc, `"`+typ+`",`) && !strings.Contains(doc, `"`+typ+`"]`) {
			t.Errorf("%s is not in the envelope's type enum", typ)
		}
		if !regexp.MustCompile(`"` + regexp.QuoteMeta(typ) + `":\s+\{`).MatchString(doc) {
			t.Errorf("%s has no schema of its data", typ)
		}
	}
}
