package conversation

import (
	"context"
	"slices"
	"testing"

	"github.com/switchboard/switchboard/internal/channel"
)

// events reads the whole event stream of e's service.
func (e *env) events(t *testing.T) []Event {
	t.Helper()
	msgs, err := e.rdb.XRange(context.Background(), e.svc.EventsKey(), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, EventFrom(m.ID, m.Values))
	}
	return out
}

func types(evs []Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// TestEventStreamHasOneEventPerFact: every fact the service records
// writes exactly one event, and nothing else does: a redelivered inbound,
// a tag already set and an identity already linked write none.
func TestEventStreamHasOneEventPerFact(t *testing.T) {
	e := newEnv(t, nil)
	e.run(t)
	ctx := context.Background()
	in := sms("+14155550123", "hello", "SM1")
	in.Name = "Maria"
	r, err := e.svc.Receive(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Receive(ctx, in); err != nil { // Twilio retried
		t.Fatal(err)
	}
	if _, err := e.svc.Receive(ctx, sms("+14155550123", "are you there?", "SM2")); err != nil {
		t.Fatal(err)
	}
	evs := e.events(t)
	if want := []string{EventCustomerCreated, EventMessageReceived, EventMessageReceived}; !slices.Equal(types(evs), want) {
		t.Fatalf("events %v, want %v", types(evs), want)
	}
	if c := evs[0]; c.CustomerID != r.CustomerID || c.Address != "phone:+14155550123" || c.Name != "Maria" || c.ConversationID != r.ConversationID {
		t.Errorf("customer.created %+v", c)
	}
	if m := evs[1]; m.ConversationID != r.ConversationID || m.MessageID != r.MessageID || m.CustomerID != r.CustomerID ||
		!m.NewConversation || m.ProviderID != "SM1" || m.Channel != channel.SMS || m.At.IsZero() {
		t.Errorf("first message.received %+v", m)
	} else if entry, err := e.svc.Entry(ctx, m.ConversationID, m.EntryID); err != nil || entry.Text != "hello" {
		t.Errorf("its entry %+v, %v", entry, err)
	}
	if evs[2].NewConversation {
		t.Errorf("second message.received opened a conversation: %+v", evs[2])
	}

	// A reply: sent once, then a delivery status.
	reply, err := e.svc.Reply(ctx, r.ConversationID, "ana", "hi Maria", nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "message.sent", func() bool { return len(e.events(t)) == 4 })
	if err := e.svc.UpdateDelivery(ctx, channel.DeliveryStatus{Channel: channel.SMS, ProviderID: "SM" + reply.MessageID, Status: "delivered"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UpdateDelivery(ctx, channel.DeliveryStatus{Channel: channel.SMS, ProviderID: "SM" + reply.MessageID, Status: "sent"}); err != nil {
		t.Fatal(err) // older than delivered: ignored, no event
	}

	// Customer changes: each real change is one event.
	if _, err := e.svc.UpdateCustomer(ctx, r.CustomerID, CustomerUpdate{Notes: ptr("prefers texts")}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.svc.Tag(ctx, r.CustomerID, "recovery", true); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := e.svc.LinkIdentity(ctx, r.CustomerID, channel.Email, "maria@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	other, err := e.svc.Receive(ctx, sms("+14155550999", "me again", "SM3"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Merge(ctx, r.CustomerID, other.CustomerID); err != nil {
		t.Fatal(err)
	}
	evs = e.events(t)
	want := []string{EventCustomerCreated, EventMessageReceived, EventMessageReceived, EventMessageSent, EventMessageStatus,
		EventCustomerUpdated, EventCustomerUpdated, EventCustomerUpdated, EventCustomerCreated, EventMessageReceived, EventCustomerMerged}
	if !slices.Equal(types(evs), want) {
		t.Fatalf("events %v,\nwant %v", types(evs), want)
	}
	if s := evs[3]; s.MessageID != reply.MessageID || s.AgentID != "ana" || s.ProviderID != "SM"+reply.MessageID || s.Status != "queued" || s.Attempt != 1 {
		t.Errorf("message.sent %+v", s)
	}
	if s := evs[4]; s.Status != "delivered" || s.MessageID != reply.MessageID || s.ConversationID != r.ConversationID {
		t.Errorf("message.delivery_status %+v", s)
	}
	for i, want := range [][]string{{"notes"}, {"tags"}, {"identities"}} {
		if u := evs[5+i]; !slices.Equal(u.Changes, want) || u.CustomerID != r.CustomerID {
			t.Errorf("customer.updated %d: %+v, want changes %v", i, u, want)
		}
	}
	if m := evs[10]; m.CustomerID != r.CustomerID || m.MergedID != other.CustomerID {
		t.Errorf("customer.merged %+v", m)
	}
}
