package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

// twoKeys counts in one key and creates another: while its slot migrates a
// node refuses it (TRYAGAIN when the counter is on one node and the new key
// would be on the other, ASK/MOVED around the move) before running it.
var twoKeys = redis.NewScript(`
redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1])
return 1`)

// A cluster client from Open carries every script through a resharding of
// its slot: none fails, none runs twice (the counter equals the calls).
func TestScriptsSurviveAReshardingOfTheirSlot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := redistest.StartCluster(t)
	s, err := Open(Options{URL: c.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const ws = "reshard"
	counter := "sb:{" + ws + "}:n"
	slot, err := c.Slot(ctx, "{"+ws+"}")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Client.Set(ctx, counter, 0, 0).Err(); err != nil {
		t.Fatal(err)
	}

	var calls atomic.Int64
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("sb:{%s}:k%d-%d", ws, w, i)
				if err := twoKeys.Run(ctx, s.Client, []string{counter, key}, i).Err(); err != nil {
					errs <- fmt.Errorf("call %d of worker %d: %w", i, w, err)
					return
				}
				calls.Add(1)
			}
		}()
	}
	// Three moves, the second holding the slot half-moved so ASK lasts.
	for i, hold := range []time.Duration{0, 200 * time.Millisecond, 0} {
		time.Sleep(150 * time.Millisecond)
		from, err := c.Owner(ctx, slot)
		if err != nil {
			t.Fatal(err)
		}
		to := c.Addrs()[0]
		if to == from {
			to = c.Addrs()[1]
		}
		if err := c.MoveSlot(ctx, slot, to, redistest.MoveOptions{Hold: hold}); err != nil {
			t.Fatalf("move %d: %v", i, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := s.Client.Get(ctx, counter).Int64()
	if err != nil {
		t.Fatal(err)
	}
	if n != calls.Load() || n == 0 {
		t.Fatalf("counter %d after %d successful calls", n, calls.Load())
	}
}

// derivedKey matches a key built in Lua from the workspace prefix ("… ..
// 'msg:' .. id", "ck .. ':outq'"), which Redis Cluster cannot check before
// the script runs.
var derivedKey = regexp.MustCompile(`\.\.\s*'[a-z_:]*:'|\.\.\s*':[a-z]`)

// The hook retries "non local key" only because every script that derives
// keys touches a never-written key before its first other command: the
// refusal then always comes before a write. A new script must do the same.
func TestEveryKeyDerivingScriptProbesFirst(t *testing.T) {
	files, err := filepath.Glob("../*/lua/*.lua")
	if err != nil || len(files) < 8 {
		t.Fatalf("found %d scripts (%v)", len(files), err)
	}
	more, _ := filepath.Glob("../../channels/*/lua/*.lua")
	files = append(files, more...)
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var code []string
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
				code = append(code, l)
			}
		}
		if !derivedKey.MatchString(strings.Join(code, "\n")) {
			continue
		}
		checked++
		for _, l := range code {
			if strings.Contains(l, "redis.call(") {
				if !strings.Contains(l, "redis.call('EXISTS',") || !strings.Contains(l, "'slot-probe')") {
					t.Errorf("%s derives keys but its first command is %q, not the slot probe", f, l)
				}
				break
			}
		}
	}
	if checked < 8 {
		t.Errorf("only %d scripts derive keys; the pattern no longer finds them", checked)
	}
}
