package routing

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestSubscribeAcrossGateways(t *testing.T) {
	t.Parallel()
	ws := workspace(t)
	gw1, gw2 := gateway(t, ws), gateway(t, ws)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := gw2.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := gw1.UpsertAgent(ctx, AgentConfig{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := gw1.SetAgentState(ctx, "a", StateAvailable, ""); err != nil {
		t.Fatal(err)
	}
	if err := gw1.Enqueue(ctx, Request{ConversationID: "c", Channel: chSMS, CustomerID: "cust"}); err != nil {
		t.Fatal(err)
	}
	want := []EventType{EventAgentState, EventEnqueued, EventOffered}
	var got []Event
	for len(got) < len(want) {
		select {
		case e := <-sub.C:
			got = append(got, e)
		case <-ctx.Done():
			t.Fatalf("got %v before timeout", got)
		}
	}
	for i, w := range want {
		if got[i].Type != w {
			t.Fatalf("event %d is %s; want %s", i, got[i].Type, w)
		}
	}
	off := got[2]
	if off.AgentID != "a" || off.ConversationID != "c" || off.Channel != chSMS || off.Deadline.IsZero() || off.ID == "" {
		t.Fatalf("offered event %+v", off)
	}
	// The stream holds the same events with the same ids, for resuming.
	ev, err := gw2.Events(ctx, got[0].ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 2 || ev[1].ID != off.ID || ev[1].Deadline != off.Deadline || ev[0].CustomerID != "cust" {
		t.Fatalf("stream after %s: %+v", got[0].ID, ev)
	}
	cancel()
	for range sub.C { // closed when the context ends
	}
}

// TestAbsentFieldsDecodeWithoutAllocating: most events lack most numeric
// fields; reading an absent one must not build a parse error each time.
func TestAbsentFieldsDecodeWithoutAllocating(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _, _, _ = ms(""), atoi(""), dur("") }); n != 0 {
		t.Fatalf("%.0f allocations to read three absent fields", n)
	}
	if ms("1700000000000").UnixMilli() != 1700000000000 || atoi("42") != 42 || dur("1500") != 1500*time.Millisecond {
		t.Fatal("present fields misread")
	}
}

// TestEventDecodesEveryFieldWithoutCopying: an entry of the event stream
// decodes into every field of Event, and an entry without skills (nearly
// all of them) decodes without allocating.
func TestEventDecodesEveryFieldWithoutCopying(t *testing.T) {
	at := time.UnixMilli(1700000000123)
	m := redis.XMessage{ID: "1700000000123-0", Values: map[string]any{
		"type": "offered", "at": "1700000000123", "conv": "c1", "agent": "ana", "queue": "support",
		"channel": "sms", "customer": "cu1", "skills": "es,billing", "reason": "timeout", "wait_ms": "1500",
		"handle_ms": "60000", "deadline": "1700000020123", "until": "1700000030123", "prio": "7",
		"enq": "1700000000000", "from_queue": "sales", "from_agent": "bo", "to_queue": "vip",
		"state": "available", "prev": "away", "missed": "2", "est_low_ms": "30000", "est_high_ms": "90000",
		"cause": "closed",
	}}
	want := Event{ID: m.ID, Type: "offered", At: at, ConversationID: "c1", AgentID: "ana", Queue: "support",
		Channel: "sms", CustomerID: "cu1", Skills: []string{"es", "billing"}, Reason: "timeout",
		Wait: 1500 * time.Millisecond, Handle: time.Minute, Deadline: at.Add(20 * time.Second),
		Until: at.Add(30 * time.Second), Priority: 7, EnqueuedAt: time.UnixMilli(1700000000000),
		FromQueue: "sales", FromAgent: "bo", ToQueue: "vip", State: "available", PrevState: "away",
		Missed: 2, EstimateLow: 30 * time.Second, EstimateHigh: 90 * time.Second, Cause: CauseClosed}
	if got := eventOf(m); !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n %+v\nwant\n %+v", got, want)
	}
	delete(m.Values, "skills")
	var ev Event
	if n := testing.AllocsPerRun(100, func() { ev = eventOf(m) }); n != 0 {
		t.Errorf("%.0f allocations to decode an event", n)
	}
	if ev.AgentID != "ana" || ev.Skills != nil {
		t.Errorf("decoded %+v", ev)
	}
}

// BenchmarkEventOf decodes an offered event as the stream holds it.
func BenchmarkEventOf(b *testing.B) {
	m := redis.XMessage{ID: "1700000000123-0", Values: map[string]any{
		"type": "offered", "at": "1700000000123", "conv": "cv_x5c3xxtofe4ch5x2", "agent": "ana", "queue": "support",
		"channel": "sms", "customer": "cu_fc7hkjqlpj5clfvp", "deadline": "1700000020123", "prio": "0", "enq": "1700000000000",
	}}
	b.ReportAllocs()
	for b.Loop() {
		_ = eventOf(m)
	}
}
