package conversation

import (
	"context"
	"testing"

	"github.com/switchboard/switchboard/internal/channel"

	"github.com/switchboard/switchboard/internal/redistest"
)

func TestOptOuts(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{})
	client := srv.NewClient(t)
	ctx := context.Background()
	const customer = "+14155550100"
	o := NewOptOuts(client, "ws1")
	other := NewOptOuts(client, "ws2")

	check := func(o *OptOuts, want bool) {
		t.Helper()
		got, err := o.IsOptedOut(ctx, channel.SMS, customer)
		if err != nil || got != want {
			t.Fatalf("IsOptedOut = %v, %v, want %v", got, err, want)
		}
	}
	check(o, false)
	if err := o.SetOptOut(ctx, channel.SMS, customer, true); err != nil {
		t.Fatal(err)
	}
	first, _ := client.Get(ctx, "sb:{ws1}:optout:sms:"+customer).Result()
	if first == "" {
		t.Fatal("opt-out not under the documented key")
	}
	if err := o.SetOptOut(ctx, channel.SMS, customer, true); err != nil { // Twilio retry
		t.Fatal(err)
	}
	if again, _ := client.Get(ctx, "sb:{ws1}:optout:sms:"+customer).Result(); again != first {
		t.Fatalf("a repeated STOP moved the opt-out time from %s to %s", first, again)
	}
	check(o, true)
	check(other, false)
	if ok, _ := o.IsOptedOut(ctx, channel.Voice, customer); ok {
		t.Fatal("an SMS opt-out leaked into voice")
	}
	if err := o.SetOptOut(ctx, channel.SMS, customer, false); err != nil {
		t.Fatal(err)
	}
	check(o, false)

	srv.Kill()
	if _, err := o.IsOptedOut(ctx, channel.SMS, customer); err == nil {
		t.Fatal("no error with Redis down")
	}
}

// The core reads a customer's opt-out along the steps it takes anyway,
// storing their message and claiming a reply (by the outbox loop or as the
// reply is written), so a channel need not look it up on every message.
func TestTheOptOutIsReadAlongTheMessageAndTheClaim(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	opt := NewOptOuts(e.rdb, e.params.Workspace)
	const stopped, other, stoppedLater = "+14155550101", "+14155550102", "+14155550103"

	first, err := e.svc.Receive(ctx, sms(stopped, "hi", "SM-in-1"))
	if err != nil {
		t.Fatal(err)
	}
	if first.OptOut != channel.OptOutNo {
		t.Fatalf("receipt opt-out %v before any STOP, want no", first.OptOut)
	}
	if err := opt.SetOptOut(ctx, channel.SMS, stopped, true); err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.Receive(ctx, sms(stopped, "are you there?", "SM-in-2"))
	if err != nil {
		t.Fatal(err)
	}
	if again.OptOut != channel.OptOutYes {
		t.Fatalf("receipt opt-out %v after STOP, want yes", again.OptOut)
	}
	// Written before the outbox runs, so its loop claims it (claim.lua).
	if _, err := e.svc.Reply(ctx, first.ConversationID, "ana", "by the loop", nil); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	eventually(t, "the loop's claim sent", func() bool { return len(e.sender.sent()) == 1 })

	// Claimed as they are written (reply.lua).
	openFor := func(from, sid string) string {
		t.Helper()
		r, err := e.svc.Receive(ctx, sms(from, "hello", sid))
		if err != nil {
			t.Fatal(err)
		}
		return r.ConversationID
	}
	fine, later := openFor(other, "SM-in-3"), openFor(stoppedLater, "SM-in-4")
	if err := opt.SetOptOut(ctx, channel.SMS, stoppedLater, true); err != nil {
		t.Fatal(err)
	}
	for _, conv := range []string{fine, later} {
		if _, err := e.svc.Reply(ctx, conv, "ana", "as written", nil); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "three sends", func() bool { return len(e.sender.sent()) == 3 })
	want := map[string]channel.OptOut{stopped: channel.OptOutYes, other: channel.OptOutNo, stoppedLater: channel.OptOutYes}
	for _, o := range e.sender.sent() {
		if o.OptOut != want[o.To] {
			t.Errorf("send to %s (%q) carried opt-out %v, want %v", o.To, o.Text, o.OptOut, want[o.To])
		}
	}
}
