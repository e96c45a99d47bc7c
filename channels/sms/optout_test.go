package sms

import (
	"context"
	"testing"

	"github.com/switchboard/switchboard/internal/conversation"
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
		got, err := o.IsOptedOut(ctx, conversation.ChannelSMS, customer)
		if err != nil || got != want {
			t.Fatalf("IsOptedOut = %v, %v, want %v", got, err, want)
		}
	}
	check(o, false)
	if err := o.SetOptOut(ctx, conversation.ChannelSMS, customer, true); err != nil {
		t.Fatal(err)
	}
	first, _ := client.Get(ctx, "sb:{ws1}:optout:sms:"+customer).Result()
	if first == "" {
		t.Fatal("opt-out not under the documented key")
	}
	if err := o.SetOptOut(ctx, conversation.ChannelSMS, customer, true); err != nil { // Twilio retry
		t.Fatal(err)
	}
	if again, _ := client.Get(ctx, "sb:{ws1}:optout:sms:"+customer).Result(); again != first {
		t.Fatalf("a repeated STOP moved the opt-out time from %s to %s", first, again)
	}
	check(o, true)
	check(other, false)
	if ok, _ := o.IsOptedOut(ctx, conversation.ChannelVoice, customer); ok {
		t.Fatal("an SMS opt-out leaked into voice")
	}
	if err := o.SetOptOut(ctx, conversation.ChannelSMS, customer, false); err != nil {
		t.Fatal(err)
	}
	check(o, false)

	srv.Kill()
	if _, err := o.IsOptedOut(ctx, conversation.ChannelSMS, customer); err == nil {
		t.Fatal("no error with Redis down")
	}
}
