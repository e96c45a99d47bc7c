package desk

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/auth"
)

// commandCount counts every command sent on one client.
type commandCount struct{ n atomic.Int64 }

func (h *commandCount) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *commandCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *commandCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

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
	count := &commandCount{}
	e.rdb.AddHook(count)
	for range 20 {
		if full, shown := e.desk.agentName(ctx, ana.AccountID), e.desk.shownName(ctx, ana.AccountID); full != "Ana Lima" || shown != "Ana" {
			t.Fatalf("names %q, %q", full, shown)
		}
	}
	if n := count.n.Load(); n != 0 {
		t.Fatalf("%d Redis commands for 40 names read a moment ago", n)
	}
	if err := e.auth.SetDisplayName(ctx, ana.AccountID, "Annie"); err != nil {
		t.Fatal(err)
	}
	if got := e.desk.shownName(ctx, ana.AccountID); got != "Annie" {
		t.Fatalf("after the rename customers are told %q, want Annie", got)
	}
	// An id with no account is named by itself, and that is remembered too.
	before := count.n.Load()
	for range 3 {
		if got := e.desk.agentName(ctx, "ghost"); got != "ghost" {
			t.Fatalf("unknown agent named %q", got)
		}
	}
	if n := count.n.Load() - before; n != 2 { // routing's name and the account, once
		t.Fatalf("%d commands to name an unknown agent three times; want 2", n)
	}
}
