package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/roster"
	"github.com/switchboard/switchboard/internal/store"
	"github.com/switchboard/switchboard/routing"
)

// admin runs `switchboard agent …` and `switchboard token …` against the
// Redis in REDIS_URL. The embedded store lives inside a running `serve`, so
// these commands refuse to run without REDIS_URL rather than write to a
// store nobody reads.
func admin(group string, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "switchboard %s: missing subcommand\n\n%s\n", group, usage)
		return exitUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("switchboard "+group+" "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		id         = fs.String("id", "", "account id (letters, digits, . _ @ -)")
		name       = fs.String("name", "", "display name (agent add) or token name (token …)")
		role       = fs.String("role", "agent", "agent, supervisor or admin")
		skills     = fs.String("skills", "", "comma-separated skills, e.g. billing,es")
		queues     = fs.String("queues", "", "comma-separated queues served (default: all)")
		capacity   = fs.String("capacity", "", "conversations at once per channel, e.g. chat=2,sms=4 (default: routing's)")
		passwordIn = fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	cfg, err := config.Load(nil, getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return exitUsage
	}
	if cfg.Embedded() {
		fmt.Fprintln(stderr, "switchboard: REDIS_URL is not set; accounts and tokens live in Redis, so point REDIS_URL at the Redis your gateways use")
		return exitUsage
	}
	st, err := store.Open(store.Options{URL: cfg.RedisURL})
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return exitFailure
	}
	defer st.Close()
	svc, err := auth.New(auth.Config{Redis: st.Client, Workspace: cfg.Workspace})
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return exitFailure
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var qs []routing.QueueConfig
	if cfg.File.Queues.Kind != 0 {
		if err := cfg.File.Queues.Decode(&qs); err != nil {
			fmt.Fprintf(stderr, "switchboard: %s: queues: %v\n", cfg.ConfigFile, err)
			return exitUsage
		}
	}
	// The engine is built only to write agents' routing profiles; it runs
	// nothing in the background.
	engine, err := routing.New(routing.Params{Client: st.Client, Workspace: cfg.Workspace, Queues: qs})
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return exitUsage
	}
	agents := roster.New(svc, engine)

	switch group + " " + sub {
	case "agent add":
		if !*passwordIn {
			fmt.Fprintln(stderr, "switchboard agent add: --password-stdin is required (passwords never go on the command line)")
			return exitUsage
		}
		r, perr := auth.ParseRole(*role)
		if perr != nil {
			fmt.Fprintf(stderr, "switchboard agent add: --role: %v\n", perr)
			return exitUsage
		}
		caps, cerr := roster.ParseCapacity(*capacity)
		if cerr != nil {
			fmt.Fprintf(stderr, "switchboard agent add: --capacity: %v\n", cerr)
			return exitUsage
		}
		err = roster.AgentAdd(ctx, agents, roster.NewAgent{ID: *id, Name: *name, Role: r,
			Skills: auth.SplitList(*skills), Queues: auth.SplitList(*queues), Capacity: caps}, stdin, stdout)
	case "agent list":
		err = roster.AgentList(ctx, agents, stdout)
	case "agent disable":
		err = roster.AgentDisable(ctx, agents, *id, stdout)
	case "token create":
		err = auth.TokenCreate(ctx, svc, *name, *role, stdout)
	case "token list":
		err = auth.TokenList(ctx, svc, stdout)
	case "token revoke":
		err = auth.TokenRevoke(ctx, svc, *name, stdout)
	default:
		fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s\n", group+" "+sub, usage)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "switchboard %s %s: %v\n", group, sub, err)
		if errors.Is(err, auth.ErrBadInput) || errors.Is(err, roster.ErrInvalid) {
			return exitUsage
		}
		return exitFailure
	}
	return 0
}
