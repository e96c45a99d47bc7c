// Command switchboard runs the Switchboard gateway (`switchboard serve`, the
// default) and its small admin subcommands. It only parses arguments; the
// process logic lives in internal/app.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/config"
)

// Exit codes: 1 for a failure at run time, 2 for bad configuration or usage.
const (
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, getenv, stderr)
	case "agent", "token":
		return admin(cmd, args, getenv, stdin, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s\n", cmd, usage)
		return exitUsage
	}
}

const usage = `Usage: switchboard [command] [flags]

Commands:
  serve                       run the gateway (the default); see 'switchboard serve -h'
  agent add --id ID --name NAME --role agent|supervisor|admin --skills a,b --queues q1,q2
            --capacity chat=3,sms=5 --password-stdin
  agent list
  agent disable --id ID
  token create --name NAME --role ROLE    prints the token once
  token list
  token revoke --name NAME
  help                        show this text

The agent and token commands act on the Redis in REDIS_URL (and SWITCHBOARD_WORKSPACE).`

func serve(args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, config.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return exitUsage
	}
	log := app.NewLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, log, stderr)
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitFailure
	}
	if err := a.Run(ctx); err != nil {
		log.Error("stopped with an error", "err", err)
		return exitFailure
	}
	log.Info("stopped")
	return 0
}
