package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/cputime"
	"github.com/switchboard/switchboard/internal/redistest"
	"github.com/switchboard/switchboard/routing"
)

// Bounds that keep one run small whatever the flags say.
const (
	maxDuration      = 5 * time.Minute
	maxConversations = 2_000_000
)

// Config is one load run.
type Config struct {
	RedisURL string // "" starts a private redis-server
	// Direct turns off the engines' autopipelining (routing.Params.DirectCalls).
	Direct   bool
	Rate     float64
	Duration time.Duration
	Agents   int
	Gateways int
	Channel  string
	Handle   time.Duration
	Drain    time.Duration
	// Trace, when set, receives one CSV line per conversation: its index,
	// scheduled time from the start, and the enqueue call's return and the
	// offer's arrival, both from the scheduled time (µs; -1 if never).
	Trace io.Writer
}

func defaultConfig() Config {
	return Config{Rate: 1000, Duration: 10 * time.Second, Agents: 200, Gateways: 1,
		Channel: string(channel.Chat), Handle: 100 * time.Millisecond, Drain: 5 * time.Second}
}

// Result is what a run measured.
type Result struct {
	Enqueued, Routed int
	Rate             float64 // routed per second of enqueuing
	P50, P99, P999   time.Duration
	Lost, Duplicated int
	Waiting          int   // still waiting at the end (agents saturated), not lost
	RoundTrips       int64 // script calls Redis ran (enqueue, accept, close, sweeps)
	Writes           int64 // writes on the gateways' Redis connections
	EnqueueErrors    int
}

// Line is the result in the one-line form the issue fixes.
func (r Result) Line() string {
	f := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("routed=%d rate=%.0f/s p50=%s p99=%s p999=%s lost=%d duplicated=%d",
		r.Routed, r.Rate, f(r.P50), f(r.P99), f(r.P999), r.Lost, r.Duplicated)
}

// countingConn counts the writes on a gateway's Redis connection: with
// autopipelining many script calls share one write, so writes are what
// each end pays system calls for. It wraps the dialer rather than adding a
// go-redis hook: a hook would make the autopipeliner run every command
// through a hook goroutine, which a gateway without hooks does not pay.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(b)
}

type convTrack struct {
	sched    time.Time
	offers   atomic.Int32
	requeued atomic.Int32
	latency  atomic.Int64 // ns, first offer
	enqueued atomic.Int64 // ns, Enqueue returned
}

// Run performs one load run, printing progress to out.
func Run(ctx context.Context, cfg Config, out io.Writer) (Result, error) {
	if cfg.Rate <= 0 || cfg.Agents <= 0 || cfg.Gateways <= 0 || cfg.Duration <= 0 {
		return Result{}, errors.New("-rate, -duration, -agents and -gateways must be positive")
	}
	cfg.Duration = min(cfg.Duration, maxDuration)
	total := int(math.Min(cfg.Rate*cfg.Duration.Seconds(), maxConversations))

	url := cfg.RedisURL
	if url == "" {
		dir, err := os.MkdirTemp("", "loadgen-redis-")
		if err != nil {
			return Result{}, err
		}
		defer os.RemoveAll(dir)
		srv, err := redistest.Launch(redistest.Options{}, dir)
		if err != nil {
			return Result{}, fmt.Errorf("start redis-server: %w", err)
		}
		defer srv.Stop()
		url = srv.URL()
		fmt.Fprintf(out, "started redis-server on %s\n", srv.Addr)
	}
	opts, err := localRedis(url)
	if err != nil {
		return Result{}, err
	}
	opts.PoolSize = 256
	var writes atomic.Int64
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 5 * time.Minute}
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: conn, n: &writes}, nil
	}

	ws := fmt.Sprintf("loadgen-%d", time.Now().UnixNano())
	engines := make([]*routing.Engine, cfg.Gateways)
	clients := make([]*redis.Client, cfg.Gateways)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := routing.QueueConfig{Name: "support", OfferTimeoutSeconds: map[string]int{cfg.Channel: 30}}
	for i := range engines {
		c := redis.NewClient(opts)
		defer c.Close()
		clients[i] = c
		e, err := routing.New(routing.Params{Client: c, Workspace: ws, Queues: []routing.QueueConfig{queue},
			PresenceGrace: time.Hour, DirectCalls: cfg.Direct})
		if err != nil {
			return Result{}, err
		}
		if err := e.Prepare(ctx); err != nil {
			return Result{}, err
		}
		engines[i] = e
	}
	defer cleanup(clients[0], ws)

	tracks := make([]convTrack, total)
	idOf := func(i int) string { return fmt.Sprintf("lg-%d", i) }
	indexOf := func(id string) (int, bool) {
		n, err := strconv.Atoi(strings.TrimPrefix(id, "lg-"))
		if err != nil || n < 0 || n >= total {
			return 0, false
		}
		return n, true
	}
	var routed atomic.Int64
	var agentWork sync.WaitGroup

	// Agents: agent i is connected to gateway i % gateways, which delivers
	// its offers; the agent accepts at once and closes after -handle.
	for gi, e := range engines {
		sub, err := e.Subscribe(runCtx)
		if err != nil {
			return Result{}, err
		}
		agentWork.Go(func() {
			for ev := range sub.C {
				switch ev.Type {
				case routing.EventOffered:
				case routing.EventExpired, routing.EventDeclined:
					if n, ok := indexOf(ev.ConversationID); ok && gi == 0 {
						tracks[n].requeued.Add(1)
					}
					continue
				default:
					continue
				}
				ai, err := strconv.Atoi(strings.TrimPrefix(ev.AgentID, "agent-"))
				if err != nil || ai%cfg.Gateways != gi {
					continue
				}
				n, ok := indexOf(ev.ConversationID)
				if !ok {
					continue
				}
				tr := &tracks[n]
				if tr.offers.Add(1) == 1 {
					tr.latency.Store(int64(time.Since(tr.sched)))
					routed.Add(1)
				}
				go func(conv, agent string) {
					if err := e.Accept(runCtx, conv, agent); err != nil {
						return
					}
					time.AfterFunc(cfg.Handle, func() { _ = e.Close(runCtx, conv, agent) })
				}(ev.ConversationID, ev.AgentID)
			}
		})
	}
	for ai := range cfg.Agents {
		e := engines[ai%cfg.Gateways]
		id := fmt.Sprintf("agent-%d", ai)
		if err := e.UpsertAgent(ctx, routing.AgentConfig{ID: id}); err != nil {
			return Result{}, err
		}
		if err := e.SetAgentState(ctx, id, routing.StateAvailable, ""); err != nil {
			return Result{}, err
		}
	}
	var sweepers sync.WaitGroup
	for _, e := range engines {
		sweepers.Go(func() { _ = e.Run(runCtx) })
	}

	fmt.Fprintf(out, "workspace %s: %d conversations at %.0f/s over %s, %d agents, %d gateways, channel %s, handle %s\n",
		ws, total, cfg.Rate, cfg.Duration, cfg.Agents, cfg.Gateways, cfg.Channel, cfg.Handle)
	cpu0, redisCPU0, calls0 := cputime.Self(), redisCPU(ctx, clients[0]), scriptCalls(ctx, clients[0])
	writes.Store(0)
	// Open loop: conversation i is due at start + i/rate whatever happened
	// to earlier ones; a pool of senders per gateway issues them.
	jobs := make(chan int, total)
	var enqErrs atomic.Int64
	var senders sync.WaitGroup
	for _, e := range engines {
		for range 32 {
			senders.Go(func() {
				for i := range jobs {
					err := e.Enqueue(runCtx, routing.Request{ConversationID: idOf(i), Channel: cfg.Channel,
						CustomerID: idOf(i), EnqueuedAt: tracks[i].sched})
					if err != nil {
						enqErrs.Add(1)
					}
					tracks[i].enqueued.Store(int64(time.Since(tracks[i].sched)))
				}
			})
		}
	}
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			total = i
			break
		}
		tracks[i].sched = due
		jobs <- i
	}
	close(jobs)
	senders.Wait()
	sendTime := time.Since(start)
	deadline := time.Now().Add(cfg.Drain)
	for time.Now().Before(deadline) && int(routed.Load()) < total && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	nWrites := writes.Load()
	cpu, rcpu, trips := cputime.Self()-cpu0, redisCPU(ctx, clients[0])-redisCPU0, scriptCalls(ctx, clients[0])-calls0
	cancel()
	agentWork.Wait()
	sweepers.Wait() // before cleanup deletes the workspace under them

	res := Result{Enqueued: total, EnqueueErrors: int(enqErrs.Load()), RoundTrips: trips, Writes: nWrites}
	lat := make([]time.Duration, 0, total)
	var unrouted []string
	for i := range total {
		tr := &tracks[i]
		switch o := tr.offers.Load(); {
		case o == 0:
			unrouted = append(unrouted, idOf(i))
		default:
			lat = append(lat, time.Duration(tr.latency.Load()))
			if o > 1+tr.requeued.Load() {
				res.Duplicated++
			}
		}
	}
	res.Routed = len(lat)
	res.Rate = float64(res.Routed) / sendTime.Seconds()
	if cfg.Trace != nil {
		writeTrace(cfg.Trace, tracks[:total], start)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	res.P50, res.P99, res.P999 = pct(0.50), pct(0.99), pct(0.999)
	enqLat := make([]time.Duration, 0, total)
	for i := range total {
		enqLat = append(enqLat, time.Duration(tracks[i].enqueued.Load()))
	}
	slices.Sort(enqLat)
	if len(enqLat) > 0 {
		fmt.Fprintf(out, "enqueue call returned (from scheduled time): p50=%s p99=%s\n",
			enqLat[len(enqLat)/2].Round(10*time.Microsecond), enqLat[len(enqLat)*99/100].Round(10*time.Microsecond))
	}
	// A conversation never offered is lost unless Redis still has it waiting
	// (the agents were saturated).
	statusCtx, statusCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer statusCancel()
	for _, id := range unrouted {
		c, err := engines[0].Conversation(statusCtx, id)
		if err == nil && (c.State == routing.ConvWaiting || c.State == routing.ConvOffered ||
			c.State == routing.ConvActive || c.State == routing.ConvClosed) {
			res.Waiting++
			continue
		}
		res.Lost++
	}
	perRouted := func(n int64) float64 { return float64(n) / math.Max(1, float64(res.Routed)) }
	fmt.Fprintf(out, "enqueued=%d enqueue_errors=%d not_yet_offered=%d round_trips=%d per_routed=%.2f (script calls: enqueue+accept+close, sweeps) writes=%d per_routed=%.2f (gateway writes to Redis)\n",
		res.Enqueued, res.EnqueueErrors, res.Waiting, res.RoundTrips, perRouted(res.RoundTrips), res.Writes, perRouted(res.Writes))
	// CPU time does not grow when other processes crowd the machine, so it
	// compares runs that latency cannot.
	fmt.Fprintf(out, "cpu per routed: loadgen (gateways and agents) %.0fµs, redis-server %.0fµs\n",
		float64(cpu.Microseconds())/math.Max(1, float64(res.Routed)), float64(rcpu.Microseconds())/math.Max(1, float64(res.Routed)))
	return res, nil
}

// writeTrace writes one CSV line per conversation, for plotting latency
// over time (do slow conversations cluster, e.g. at sweep ticks?).
func writeTrace(w io.Writer, tracks []convTrack, start time.Time) {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "i,sched_us,enqueue_us,offer_us")
	for i := range tracks {
		tr := &tracks[i]
		offer := int64(-1)
		if tr.offers.Load() > 0 {
			offer = tr.latency.Load() / 1e3
		}
		fmt.Fprintf(bw, "%d,%d,%d,%d\n", i, tr.sched.Sub(start).Microseconds(), tr.enqueued.Load()/1e3, offer)
	}
	_ = bw.Flush()
}

// scriptCalls is how many script calls (EVALSHA, EVAL) the Redis server ran
// so far (INFO commandstats): the gateways' round trips, however they were
// batched on the wire.
func scriptCalls(ctx context.Context, c *redis.Client) int64 {
	n, _ := commandStats(ctx, c)
	return n["evalsha"] + n["eval"]
}

// commandStats is how many calls of each command the Redis server ran so
// far and the microseconds it spent in them, by lower-case name (INFO
// commandstats). Commands that scripts call count too, so a script's time
// includes theirs.
func commandStats(ctx context.Context, c *redis.Client) (calls, usec map[string]int64) {
	calls, usec = map[string]int64{}, map[string]int64{}
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return calls, usec
	}
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isCmd := strings.CutPrefix(k, "cmdstat_")
		if !ok || !isCmd {
			continue
		}
		for _, field := range strings.Split(v, ",") {
			fk, fv, _ := strings.Cut(field, "=")
			n, _ := strconv.ParseInt(fv, 10, 64)
			switch fk {
			case "calls":
				calls[name] = n
			case "usec":
				usec[name] = n
			}
		}
	}
	return calls, usec
}

// redisCPU is the Redis server's CPU time so far (INFO cpu, user and system).
func redisCPU(ctx context.Context, c *redis.Client) time.Duration {
	info, err := c.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var sum float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			sum += f
		}
	}
	return time.Duration(sum * float64(time.Second))
}

// localRedis parses REDIS_URL, and refuses to load a Redis that is not on
// this host: a Unix socket, or TCP on loopback.
func localRedis(url string) (*redis.Options, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("REDIS_URL is not a Redis URL") // its error would quote the password
	}
	if opts.Network == "unix" {
		return opts, nil
	}
	return opts, loopbackOnly(opts.Addr)
}

// loopbackOnly refuses to load anything but a loopback address.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("REDIS_URL address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("REDIS_URL must point to loopback, not %s", host)
}

// cleanup deletes the run's workspace.
func cleanup(c *redis.Client, ws string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, "sb:{"+ws+"}:*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			c.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		c.Unlink(ctx, batch...)
	}
}
