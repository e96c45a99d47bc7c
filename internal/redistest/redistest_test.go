package redistest

import (
	"context"
	"testing"
)

func TestKillAndRestartWithAOFKeepsData(t *testing.T) {
	ctx := context.Background()
	s := Start(t, Options{AOF: true})
	c := s.NewClient(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if s.Running() {
		t.Fatal("server still running after Kill")
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping succeeded against a killed server")
	}
	if err := s.Restart(Options{AOF: true}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, "k").Result()
	if err != nil || got != "v" {
		t.Fatalf("after restart got %q, %v; want v", got, err)
	}
}

func TestRestartWithoutAOFStartsEmpty(t *testing.T) {
	ctx := context.Background()
	s := Start(t, Options{})
	c := s.NewClient(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(Options{}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("exists=%d err=%v, want an empty server", n, err)
	}
}
