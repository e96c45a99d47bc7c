package redistest

import (
	"context"
	"fmt"
	"testing"
)

func TestClusterServesEveryShardAndReshardsOneSlot(t *testing.T) {
	ctx := context.Background()
	c := StartCluster(t)
	cl := c.Client()
	defer cl.Close()
	owners := map[string]bool{}
	for i := range 50 {
		ws := fmt.Sprintf("ws%d", i)
		if err := cl.Set(ctx, "sb:{"+ws+"}:k", ws, 0).Err(); err != nil {
			t.Fatal(err)
		}
		o, err := c.WorkspaceOwner(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		owners[o] = true
	}
	if len(owners) != ClusterMasters {
		t.Fatalf("50 workspaces landed on %d nodes; want all %d", len(owners), ClusterMasters)
	}

	slot, err := c.Slot(ctx, "{ws0}")
	if err != nil {
		t.Fatal(err)
	}
	from, _ := c.Owner(ctx, slot)
	to := c.others(from)[0]
	if err := c.MoveSlot(ctx, slot, to, MoveOptions{Batch: 1}); err != nil {
		t.Fatal(err)
	}
	if o, _ := c.Owner(ctx, slot); o != to {
		t.Fatalf("slot %d on %s after the move; want %s", slot, o, to)
	}
	if v, err := cl.Get(ctx, "sb:{ws0}:k").Result(); err != nil || v != "ws0" {
		t.Fatalf("after the move got %q, %v", v, err)
	}
}
