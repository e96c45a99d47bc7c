package sms

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard/switchboard/internal/channel"
)

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
