package redistest

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterMasters is the number of masters a test cluster has: the smallest
// Redis Cluster that redis-cli agrees to create.
const ClusterMasters = 3

// Cluster is a Redis Cluster of ClusterMasters redis-server processes on
// loopback, with no replicas, owned by a test.
type Cluster struct {
	Nodes []*Server
}

// StartCluster launches a cluster for t and stops it when t ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := LaunchCluster(t.TempDir())
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// LaunchCluster starts the nodes, joins them with `redis-cli --cluster
// create` and waits until every node reports cluster_state:ok and agrees on
// who serves every slot. The caller must call Stop.
func LaunchCluster(dir string) (*Cluster, error) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		return nil, fmt.Errorf("redis-cli not found on PATH; install it with: %s", InstallHint)
	}
	c := &Cluster{}
	for i := range ClusterMasters {
		d := filepath.Join(dir, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cluster dir: %w", err)
		}
		s, err := launch(Options{}, d, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(d, "nodes.conf"),
			"--cluster-node-timeout", "2000")
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %w: %s", err, tail(string(out)))
	}
	if err := c.waitConsistent(30 * time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// Addrs lists the nodes' host:port.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// URL is the cluster as REDIS_URL spells it: the first node, the others as
// addr parameters.
func (c *Cluster) URL() string {
	u := "redis://" + c.Nodes[0].Addr + "/0?"
	var q []string
	for _, n := range c.Nodes[1:] {
		q = append(q, "addr="+n.Addr)
	}
	return u + strings.Join(q, "&")
}

// Client returns a new cluster client. The caller closes it.
func (c *Cluster) Client() *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
}

// Connect returns a cluster client that is closed when t ends.
func (c *Cluster) Connect(t testing.TB) redis.UniversalClient {
	cl := c.Client()
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// Kind is "cluster".
func (c *Cluster) Kind() string { return KindCluster }

// Stop stops every node.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
}

// node returns a plain client to one node, for the CLUSTER commands.
func node(addr string) *redis.Client { return redis.NewClient(&redis.Options{Addr: addr}) }

// waitConsistent polls until every node says cluster_state:ok and maps
// every slot to the same owner.
func (c *Cluster) waitConsistent(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		if last = c.consistent(ctx); last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("cluster not consistent after %s: %w", limit, last)
}

func (c *Cluster) consistent(ctx context.Context) error {
	var first string
	for _, addr := range c.Addrs() {
		n := node(addr)
		info, err := n.ClusterInfo(ctx).Result()
		if err != nil {
			_ = n.Close()
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			_ = n.Close()
			return fmt.Errorf("%s: cluster_state not ok", addr)
		}
		shards, err := n.ClusterShards(ctx).Result()
		_ = n.Close()
		if err != nil {
			return err
		}
		desc := describeSlots(shards)
		if first == "" {
			first = desc
		} else if desc != first {
			return fmt.Errorf("%s disagrees on slot owners", addr)
		}
	}
	return nil
}

// describeSlots lists "start-end:master;" for every slot range, sorted,
// so two nodes' views compare as strings.
func describeSlots(shards []redis.ClusterShard) string {
	var parts []string
	for _, sh := range shards {
		m := master(sh)
		for _, r := range sh.Slots {
			parts = append(parts, fmt.Sprintf("%05d-%05d:%s", r.Start, r.End, m))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// master is the address of the shard's master, "" if it has none.
func master(sh redis.ClusterShard) string {
	for _, n := range sh.Nodes {
		if n.Role == "master" {
			return net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
		}
	}
	return ""
}

// Slot is the hash slot of key, asked of the cluster.
func (c *Cluster) Slot(ctx context.Context, key string) (int, error) {
	n := node(c.Nodes[0].Addr)
	defer n.Close()
	s, err := n.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return 0, fmt.Errorf("cluster keyslot: %w", err)
	}
	return int(s), nil
}

// Owner is the address of the node serving slot.
func (c *Cluster) Owner(ctx context.Context, slot int) (string, error) {
	n := node(c.Nodes[0].Addr)
	defer n.Close()
	shards, err := n.ClusterShards(ctx).Result()
	if err != nil {
		return "", fmt.Errorf("cluster shards: %w", err)
	}
	for _, sh := range shards {
		for _, r := range sh.Slots {
			if int64(slot) >= r.Start && int64(slot) <= r.End {
				if m := master(sh); m != "" {
					return m, nil
				}
			}
		}
	}
	return "", fmt.Errorf("slot %d has no owner", slot)
}

// WorkspaceOwner is the node serving the keys of workspace ws (hash tag
// {ws}).
func (c *Cluster) WorkspaceOwner(ctx context.Context, ws string) (string, error) {
	slot, err := c.Slot(ctx, "{"+ws+"}")
	if err != nil {
		return "", err
	}
	return c.Owner(ctx, slot)
}

func nodeID(ctx context.Context, addr string) (string, error) {
	n := node(addr)
	defer n.Close()
	id, err := n.ClusterMyID(ctx).Result()
	if err != nil {
		return "", fmt.Errorf("cluster myid %s: %w", addr, err)
	}
	return id, nil
}

// MoveOptions shape a MoveSlot.
type MoveOptions struct {
	// Batch is how many keys one MIGRATE moves; zero moves the whole slot
	// in one MIGRATE, which is the only way that is safe for scripts that
	// derive keys (see deploy/README.md).
	Batch int
	// Hold keeps the slot half-moved (all keys on the target, the source
	// still MIGRATING) this long before the new owner is announced, so
	// clients meet ASK redirects for a while before the MOVED ones.
	Hold time.Duration
}

// MoveSlot reshards one slot to the node at addr while clients keep
// working, the way `redis-cli --cluster reshard` does: the target imports,
// the source migrates, the keys move with MIGRATE, then every node is told
// the new owner.
func (c *Cluster) MoveSlot(ctx context.Context, slot int, to string, opts MoveOptions) error {
	from, err := c.Owner(ctx, slot)
	if err != nil {
		return err
	}
	if from == to {
		return fmt.Errorf("slot %d is already on %s", slot, to)
	}
	fromID, err := nodeID(ctx, from)
	if err != nil {
		return err
	}
	toID, err := nodeID(ctx, to)
	if err != nil {
		return err
	}
	src, dst := node(from), node(to)
	defer src.Close()
	defer dst.Close()
	if err := dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", fromID).Err(); err != nil {
		return fmt.Errorf("setslot importing: %w", err)
	}
	host, port, err := net.SplitHostPort(to)
	if err != nil {
		return fmt.Errorf("target address: %w", err)
	}
	batch := opts.Batch
	if batch <= 0 {
		batch = math.MaxInt32
	}
	// MIGRATING and the first key list in one round trip: in between, the
	// source redirects scripts that create keys, so the shorter the better.
	pipe := src.Pipeline()
	migrating := pipe.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", toID)
	first := pipe.ClusterGetKeysInSlot(ctx, slot, batch)
	_, _ = pipe.Exec(ctx)
	if err := migrating.Err(); err != nil {
		return fmt.Errorf("setslot migrating: %w", err)
	}
	for {
		var keys []string
		if first != nil {
			keys, err = first.Result()
			first = nil
		} else {
			keys, err = src.ClusterGetKeysInSlot(ctx, slot, batch).Result()
		}
		if err != nil {
			return fmt.Errorf("getkeysinslot: %w", err)
		}
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 10000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		if err := src.Do(ctx, args...).Err(); err != nil && err.Error() != "NOKEY" {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	select {
	case <-time.After(opts.Hold):
	case <-ctx.Done():
		return ctx.Err()
	}
	// The new owner first, then the old one (which then answers MOVED),
	// then the rest, as redis-cli does.
	for _, addr := range append([]string{to, from}, c.others(to, from)...) {
		n := node(addr)
		err := n.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", toID).Err()
		_ = n.Close()
		if err != nil {
			return fmt.Errorf("setslot node on %s: %w", addr, err)
		}
	}
	return c.waitConsistent(30 * time.Second)
}

func (c *Cluster) others(skip ...string) []string {
	var out []string
	for _, a := range c.Addrs() {
		keep := true
		for _, s := range skip {
			if a == s {
				keep = false
			}
		}
		if keep {
			out = append(out, a)
		}
	}
	return out
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
