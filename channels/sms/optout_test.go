package sms

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard/switchboard/internal/channel"

	"github.com/switchboard/switchboard/internal/redistest"
)

func TestRedisOptOuts(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{})
	client := srv.NewClient(t)
	ctx := context.Background()
	o := NewRedisOptOuts(client, "ws1")
	other := NewRedisOptOuts(client, "ws2")

	check := func(o *RedisOptOuts, want bool) {
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

// TestMayContactRefusesOptedOut: the channel answers the core's
// Reachability question from its opt-out store, in words for the agent.
func TestMayContactRefusesOptedOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ctx := context.Background()
	if err := h.ch.MayContact(ctx, "+46 70 123 45 67"); err != nil {
		t.Fatalf("a number that never texted STOP: %v", err)
	}
	if err := h.optOuts.SetOptOut(ctx, channel.SMS, "+46701234567", true); err != nil {
		t.Fatal(err)
	}
	err := h.ch.MayContact(ctx, "+46 70 123 45 67")
	if !errors.Is(err, channel.ErrOptedOut) || err.Error() != "+46701234567 opted out of text messages (texted STOP); they can text START to opt back in" {
		t.Fatalf("opted-out number: %v", err)
	}
	if err := h.ch.MayContact(ctx, "call me"); err == nil || errors.Is(err, channel.ErrOptedOut) {
		t.Fatalf("not a number: %v", err)
	}
}
