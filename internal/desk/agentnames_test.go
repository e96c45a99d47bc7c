package desk

import (
	"context"
	"testing"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/redistest"
)

// TestAgentNamesAreReadOnceAndFollowRenames: naming an agent on every
// offer and transcript line reads its records once, not each time; a
// rename made through this gateway shows at the next line.
func TestAgentNamesAreReadOnceAndFollowRenames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if err := e.auth.CreateAccount(ctx, auth.Account{ID: ana.AccountID, Name: "Ana Lima", Role: auth.RoleAgent}, "ana-password-1"); err != nil {
		t.Fatal(err)
	}
	if got := e.desk.shownName(ctx, ana.AccountID); got != "Ana" {
		t.Fatalf("shown %q, want Ana", got)
	}
	count := &redistest.Counter{}
	e.rdb.AddHook(count)
	for range 20 {
		if full, shown := e.desk.agentName(ctx, ana.AccountID), e.desk.shownName(ctx, ana.AccountID); full != "Ana Lima" || shown != "Ana" {
			t.Fatalf("names %q, %q", full, shown)
		}
	}
	if n := count.Commands.Load(); n != 0 {
		t.Fatalf("%d Redis commands for 40 names read a moment ago", n)
	}
	if err := e.auth.SetDisplayName(ctx, ana.AccountID, "Annie"); err != nil {
		t.Fatal(err)
	}
	if got := e.desk.shownName(ctx, ana.AccountID); got != "Annie" {
		t.Fatalf("after the rename customers are told %q, want Annie", got)
	}
	// An id with no account is named by itself, and that is remembered too.
	before := count.Commands.Load()
	for range 3 {
		if got := e.desk.agentName(ctx, "ghost"); got != "ghost" {
			t.Fatalf("unknown agent named %q", got)
		}
	}
	if n := count.Commands.Load() - before; n != 2 { // routing's name and the account, once
		t.Fatalf("%d commands to name an unknown agent three times; want 2", n)
	}
}
