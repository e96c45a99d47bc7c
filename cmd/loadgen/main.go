// Command loadgen drives the routing engine against a Redis with simulated
// agents and reports enqueue-to-offer latency.
//
// It enqueues conversations at a fixed rate (open loop: latency is measured
// from each conversation's scheduled time, so a stall is not hidden), spread
// over several independent routing engines sharing one Redis, as separate
// gateways would. Simulated agents receive their offers through the
// engine's live subscription, accept at once and close after -handle. The
// last line of output is exactly:
//
//	routed=N rate=R/s p50=Xms p99=Yms p999=Zms lost=L duplicated=D
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := defaultConfig()
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "conversations enqueued per second")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to enqueue (at most "+maxDuration.String()+")")
	fs.IntVar(&cfg.Agents, "agents", cfg.Agents, "simulated agents, all available")
	fs.IntVar(&cfg.Gateways, "gateways", cfg.Gateways, "independent routing engines sharing the Redis")
	fs.StringVar(&cfg.Channel, "channel", cfg.Channel, "channel of every conversation (voice, chat, sms, email)")
	fs.DurationVar(&cfg.Handle, "handle", cfg.Handle, "how long an agent keeps a conversation before closing it")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "how long to wait for the last offers after enqueuing stops")
	fs.BoolVar(&cfg.Direct, "direct", cfg.Direct, "one connection per script call: turn off the engines' autopipelining")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the run to this file")
	blockProfile := fs.String("blockprofile", "", "write a Go block profile of the run to this file")
	mutexProfile := fs.String("mutexprofile", "", "write a Go mutex profile of the run to this file")
	trace := fs.String("trace", "", "write one CSV line per conversation (scheduled time, enqueue and offer latency) to this file")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: loadgen [flags]

Drives the routing engine against the Redis in REDIS_URL (loopback only) with
simulated agents that accept every offer, and prints enqueue-to-offer latency.
When REDIS_URL is empty, loadgen starts its own redis-server (from PATH, on a
free loopback port, without persistence) and stops it at the end. Each run
uses a fresh workspace and deletes its keys when done. Bounded: at most %s of
enqueuing and %d conversations.

The last line of output is exactly:
  routed=N rate=R/s p50=Xms p99=Yms p999=Zms lost=L duplicated=D

Flags:
`, maxDuration, maxConversations)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg.RedisURL = os.Getenv("REDIS_URL")
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if *blockProfile != "" {
		runtime.SetBlockProfileRate(int(10 * time.Microsecond))
		defer writeProfile(stderr, "block", *blockProfile)
	}
	if *mutexProfile != "" {
		runtime.SetMutexProfileFraction(10)
		defer writeProfile(stderr, "mutex", *mutexProfile)
	}
	if *trace != "" {
		f, err := os.Create(*trace)
		if err != nil {
			fmt.Fprintln(stderr, "loadgen:", err)
			return 1
		}
		defer f.Close()
		cfg.Trace = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	fmt.Fprintln(stdout, res.Line())
	return 0
}

// writeProfile writes the named runtime profile (block, mutex) to path.
func writeProfile(stderr io.Writer, name, path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
	}
}
