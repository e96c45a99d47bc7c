// Command loadgen measures Switchboard under load, in one of two modes.
//
// With -target or -spawn it drives running gateways as customers and
// agents meet them: agents are made through the auth service, sign in over
// HTTP and take offers on the console websocket; customers arrive open loop
// at -rate as signed Twilio SMS and voice webhooks, web chat visitors and
// mail delivered into a Dovecot mailbox the spawned gateways read (-mix; a
// call also fetches its first wait URL, which is timed; email needs
// -spawn, since loadgen runs the mailbox and the SMTP server the gateways
// answer through). It
// reports, from each contact's scheduled time, the acknowledgement and the
// offer on an agent's socket, then customer message → agent socket and
// agent reply → customer; lost, duplicated and double-offered contacts are
// counted from the agents' sockets and the routing event stream. -spawn
// starts the gateways (and Redis) itself and can kill them mid-run;
// -chat-idle measures what waiting visitors cost a gateway at rest.
//
// Without them it drives the routing engine alone against a Redis. It
// enqueues conversations at a fixed rate (open loop: latency is measured
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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
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
	gw := GatewayConfig{Binary: "switchboard", SMSNumber: "+15550001111", VoiceNumber: "+15550002222", Think: 0, Handle: time.Second,
		Drain: 10 * time.Second, Idle: 10 * time.Second}
	targets := fs.String("target", "", "comma-separated base URLs of running gateways (loopback only); REDIS_URL must name their Redis")
	fs.IntVar(&gw.Spawn, "spawn", 0, "start this many gateways from -bin on loopback (and a redis-server unless REDIS_URL is set)")
	fs.StringVar(&gw.Binary, "bin", gw.Binary, "the switchboard binary -spawn starts")
	mix := fs.String("mix", "sms=0.5,chat=0.5", "share of contacts per channel: sms, chat, voice, email (gateway mode; email needs -spawn and Dovecot)")
	fs.DurationVar(&gw.Think, "think", gw.Think, "how long an agent looks at an offer before accepting (gateway mode)")
	fs.DurationVar(&gw.MsgEvery, "msg-every", 0, "a served chat customer writes every this long until closed; 0: no messages (gateway mode)")
	fs.IntVar(&gw.TwilioLimit, "twilio-limit", 0, "the fake Twilio answers 429 to a message sent while this many others are being answered, as an account's concurrency limit (-spawn); 0: no limit")
	fs.IntVar(&gw.SMSMaxSending, "sms-max-sending", 0, "the spawned gateways' channels.sms.max_sending (-spawn); 0: their default")
	fs.BoolVar(&gw.AwaitReplies, "await-replies", false, "the drain also waits, within -drain, until every reply agents wrote and every SMS acknowledgement has reached its customer")
	fs.DurationVar(&gw.TwilioDelay, "twilio-delay", 0, "the fake Twilio answers each message sent after this long, as the real API across a network (-spawn)")
	fs.DurationVar(&gw.SMTPDelay, "smtp-delay", 0, "loadgen's SMTP server answers MAIL, RCPT and DATA after this long, as a provider across a network (email in -mix)")
	fs.DurationVar(&gw.KillGatewayAt, "kill-gateway-at", 0, "SIGKILL the last spawned gateway this long into the run")
	fs.DurationVar(&gw.KillRedisAt, "kill-redis-at", 0, "SIGKILL the spawned redis-server (append-only file on) this long into the run")
	fs.DurationVar(&gw.RedisRestartAfter, "redis-restart-after", 2*time.Second, "restart the killed redis-server after this long")
	fs.IntVar(&gw.ChatIdle, "chat-idle", 0, "open this many waiting chat visitors within 10 s and report the gateway's RSS, goroutines and Redis commands/s at rest")
	fs.DurationVar(&gw.Idle, "idle-measure", gw.Idle, "how long -chat-idle measures at rest")
	fs.StringVar(&gw.Workspace, "workspace", "default", "the gateways' workspace (gateway mode)")
	fs.StringVar(&gw.SMSNumber, "sms-number", gw.SMSNumber, "our number SMS contacts text (gateway mode)")
	fs.StringVar(&gw.VoiceNumber, "voice-number", gw.VoiceNumber, "our number voice contacts call (gateway mode)")
	jsonOut := fs.String("json", "", "write the whole summary as JSON to this file (gateway mode)")
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
	if *targets != "" || gw.Spawn > 0 {
		return runGateways(ctx, gw, cfg, *targets, *mix, *jsonOut, stdout, stderr)
	}
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

// runGateways is the gateway mode of run.
func runGateways(ctx context.Context, gw GatewayConfig, cfg Config, targets, mix, jsonOut string, stdout, stderr io.Writer) int {
	gw.Rate, gw.Duration, gw.Agents, gw.Handle = cfg.Rate, cfg.Duration, cfg.Agents, cfg.Handle
	if cfg.Drain > gw.Drain {
		gw.Drain = cfg.Drain
	}
	gw.RedisURL, gw.Log = cfg.RedisURL, stdout
	if targets != "" {
		gw.Targets = strings.Split(targets, ",")
	}
	gw.Mix = map[string]float64{}
	for _, part := range strings.Split(mix, ",") {
		ch, share, ok := strings.Cut(part, "=")
		f, err := strconv.ParseFloat(share, 64)
		if !ok || err != nil || f < 0 || (ch != "sms" && ch != "chat" && ch != "voice" && ch != "email") {
			fmt.Fprintf(stderr, "loadgen: -mix %q: want sms=SHARE,chat=SHARE,voice=SHARE,email=SHARE\n", mix)
			return 2
		}
		if f > 0 {
			gw.Mix[ch] = f
		}
	}
	if len(gw.Mix) == 0 && gw.ChatIdle == 0 {
		fmt.Fprintln(stderr, "loadgen: -mix names no channel")
		return 2
	}
	if gw.TwilioToken = os.Getenv("TWILIO_AUTH_TOKEN"); gw.TwilioToken != "" {
		gw.TwilioSID = os.Getenv("TWILIO_ACCOUNT_SID")
	}
	res, err := RunGateways(ctx, gw)
	if jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if werr := os.WriteFile(jsonOut, b, 0o644); werr != nil {
			fmt.Fprintln(stderr, "loadgen:", werr)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	if gw.ChatIdle == 0 {
		fmt.Fprintln(stdout, res.Line())
	}
	return 0
}
