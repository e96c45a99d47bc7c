package store

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// CallSites counts the gateway's Redis round trips by the code that made
// them, on demand: GET /debug/redis/calls?seconds=N (on the debug
// listener, next to /debug/pprof) counts for N seconds and answers one
// line per call site, most first. A CPU profile shows that round trips
// cost the gateway most of its time; this shows which ones a contact
// makes, so they can be folded into others. Off, it costs one atomic load
// per command; while it counts, a stack walk per command, so run it under
// load-generator runs, not for long in production.
type CallSites struct {
	on     atomic.Bool
	mu     sync.Mutex
	counts map[string]int64
	busy   sync.Mutex // one count at a time
}

// maxCountFor bounds one count, as pprof's CPU profile is bounded.
const maxCountFor = 60 * time.Second

var _ redis.Hook = (*CallSites)(nil)

// DialHook leaves dials alone.
func (c *CallSites) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook counts one command while counting is on.
func (c *CallSites) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if c.on.Load() {
			c.note(commandLabelOf(cmd))
		}
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook counts one pipeline (one round trip) while counting
// is on, labelled by its commands.
func (c *CallSites) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if c.on.Load() {
			names := make([]string, 0, 4)
			for i, cmd := range cmds {
				if i == 4 {
					names = append(names, fmt.Sprintf("+%d", len(cmds)-4))
					break
				}
				names = append(names, commandLabelOf(cmd))
			}
			c.note("pipeline[" + strings.Join(names, ", ") + "]")
		}
		return next(ctx, cmds)
	}
}

// idLike is the variable part of a key (a conversation, message or
// customer id, a number): stripped so one call site is one line.
var idLike = regexp.MustCompile(`(cv|cu|m|v|vs|SM|CA)_?[A-Za-z0-9]{6,}|\+?[0-9]{6,}`)

// commandLabelOf is the command's name; a script call adds its first key
// without ids, which tells the scripts apart.
func commandLabelOf(cmd redis.Cmder) string {
	name := cmd.Name()
	if name != "evalsha" && name != "eval" {
		return name
	}
	args := cmd.Args()
	if len(args) < 4 {
		return name
	}
	if n, _ := strconv.Atoi(fmt.Sprint(args[2])); n < 1 {
		return name
	}
	return name + " " + idLike.ReplaceAllString(fmt.Sprint(args[3]), "*")
}

// note counts one round trip under the label and the three innermost
// functions of this module that led to it, Redis clients and this package
// left out.
func (c *CallSites) note(label string) {
	var pcs [48]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	site := make([]string, 0, 3)
	for len(site) < 3 {
		f, more := frames.Next()
		if fn := f.Function; strings.HasPrefix(fn, modulePath) && !strings.HasPrefix(fn, modulePath+"internal/store.") {
			site = append(site, fn[strings.LastIndex(fn, "/")+1:])
		}
		if !more {
			break
		}
	}
	key := label + " | " + strings.Join(site, " < ")
	c.mu.Lock()
	if c.counts != nil { // nil once the count ended, as this call started
		c.counts[key]++
	}
	c.mu.Unlock()
}

// modulePath prefixes this module's function names.
const modulePath = "github.com/switchboard/switchboard/"

// Count counts the round trips made during d (at most maxCountFor, or
// until ctx ends) and returns them by call site, most first.
func (c *CallSites) Count(ctx context.Context, d time.Duration) []CallSite {
	c.busy.Lock()
	defer c.busy.Unlock()
	c.mu.Lock()
	c.counts = map[string]int64{}
	c.mu.Unlock()
	c.on.Store(true)
	t := time.NewTimer(min(d, maxCountFor))
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	c.on.Store(false)
	c.mu.Lock()
	out := make([]CallSite, 0, len(c.counts))
	for k, n := range c.counts {
		out = append(out, CallSite{Site: k, Calls: n})
	}
	c.counts = nil
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b CallSite) int {
		if a.Calls != b.Calls {
			return int(b.Calls - a.Calls)
		}
		return strings.Compare(a.Site, b.Site)
	})
	return out
}

// CallSite is one line of a count: a command (or pipeline) and the
// functions that made it.
type CallSite struct {
	Site  string
	Calls int64
}

// ServeHTTP answers GET ?seconds=N (default 5) with one line per call
// site: round trips, then per second, then the site.
func (c *CallSites) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secs := 5.0
	if s := r.URL.Query().Get("seconds"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v >= 0.001 && v <= maxCountFor.Seconds()) { // NaN fails both
			http.Error(w, "seconds: a positive number, at most 60", http.StatusBadRequest)
			return
		}
		secs = v
	}
	d := min(time.Duration(secs*float64(time.Second)), maxCountFor)
	sites := c.Count(r.Context(), d)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "# Redis round trips by call site over %s: calls, calls/s, command | innermost functions\n", d)
	for _, s := range sites {
		fmt.Fprintf(w, "%8d %9.1f  %s\n", s.Calls, float64(s.Calls)/d.Seconds(), s.Site)
	}
}
