package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

var lastLine = regexp.MustCompile(`^routed=(\d+) rate=\d+/s p50=[0-9.]+ms p99=[0-9.]+ms p999=[0-9.]+ms lost=(\d+) duplicated=(\d+)$`)

// A short run against loadgen's own redis-server: every conversation is
// routed exactly once and the summary line has the fixed form.
func TestShortRunRoutesEverything(t *testing.T) {
	var out bytes.Buffer
	cfg := defaultConfig()
	cfg.Rate, cfg.Duration, cfg.Agents, cfg.Gateways = 200, time.Second, 20, 2
	res, err := Run(context.Background(), cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	line := res.Line()
	m := lastLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("summary %q does not have the fixed form", line)
	}
	if res.Routed != 200 || res.Lost != 0 || res.Duplicated != 0 {
		t.Fatalf("%s\n%s", out.String(), line)
	}
	if !strings.Contains(out.String(), "round_trips=") {
		t.Fatalf("no round-trip count in %q", out.String())
	}
}

func TestRefusesNonLoopbackRedis(t *testing.T) {
	cfg := defaultConfig()
	cfg.RedisURL = "redis://10.1.2.3:6379/0"
	if _, err := Run(context.Background(), cfg, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("got %v; want a loopback refusal", err)
	}
}

func TestHelpMentionsOwnRedis(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"-h"}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("-h exit code %d", code)
	}
	for _, want := range []string{"REDIS_URL is empty", "redis-server", "-rate", "-gateways", "routed=N"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help does not mention %q:\n%s", want, stderr.String())
		}
	}
}

// localRedis takes loopback and Unix sockets only, and its errors never
// quote REDIS_URL, which may carry a password.
func TestLocalRedisTakesOnlyThisHost(t *testing.T) {
	for _, url := range []string{"redis://127.0.0.1:6379/0", "redis://localhost:6379", "unix:///tmp/redis.sock"} {
		if _, err := localRedis(url); err != nil {
			t.Errorf("%s refused: %v", url, err)
		}
	}
	for _, url := range []string{"redis://:s3cret@10.0.0.1:6379/0", "bogus://:s3cret@127.0.0.1"} {
		_, err := localRedis(url)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %v, want a refusal that does not quote the password", url, err)
		}
	}
}
