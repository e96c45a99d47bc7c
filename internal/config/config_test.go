package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Workspace != "default" || c.Location != time.UTC || c.ShutdownTimeout != 10*time.Second || !c.Embedded() || c.TwilioEnabled() ||
		c.VisitorHandlers != 256 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if got := c.BaseURL(); got != "http://127.0.0.1:8080" {
		t.Fatalf("BaseURL = %q", got)
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "sb.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:7000\ndata_dir: /from/file\nworkspace: filews\ntime_zone: America/Los_Angeles\nqueues:\n  - name: billing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{"--listen", "127.0.0.1:9000", "--config", file},
		env(map[string]string{"SWITCHBOARD_LISTEN": "127.0.0.1:9100", "SWITCHBOARD_DATA_DIR": "/from/env"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" {
		t.Errorf("flag should win over env: %q", c.Listen)
	}
	if c.DataDir != "/from/env" {
		t.Errorf("env should win over file: %q", c.DataDir)
	}
	if c.Workspace != "filews" {
		t.Errorf("file should win over default: %q", c.Workspace)
	}
	if c.TimeZone != "America/Los_Angeles" || c.Location == nil || c.Location.String() != "America/Los_Angeles" {
		t.Errorf("time_zone from the file not loaded: %q %v", c.TimeZone, c.Location)
	}
	if len(c.File.Queues.Content) != 1 {
		t.Errorf("queues section not kept: %+v", c.File.Queues)
	}
}

func TestSecretFromFile(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte("0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(nil, env(map[string]string{"TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef", "TWILIO_AUTH_TOKEN_FILE": f}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.TwilioAuthToken != "0123456789abcdef" || !c.TwilioEnabled() {
		t.Fatalf("token from file not read: enabled=%v", c.TwilioEnabled())
	}
}

func TestInvalidValuesNameTheField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc  string
		args  []string
		env   map[string]string
		field string
	}{
		{desc: "listen nonsense", args: []string{"--listen", "nonsense"}, field: "--listen"},
		{desc: "listen port too big", args: []string{"--listen", "127.0.0.1:70000"}, field: "--listen"},
		{desc: "listen from env", env: map[string]string{"SWITCHBOARD_LISTEN": "::::"}, field: "SWITCHBOARD_LISTEN"},
		{desc: "public url relative", args: []string{"--public-url", "example.com"}, field: "--public-url"},
		{desc: "redis scheme", env: map[string]string{"REDIS_URL": "http://u:hunter2@h:1"}, field: "REDIS_URL"},
		{desc: "redis socket with a host", env: map[string]string{"REDIS_URL": "unix://u:hunter2@h/run/redis.sock"}, field: "REDIS_URL"},
		{desc: "redis socket without a path", env: map[string]string{"REDIS_URL": "unix://"}, field: "REDIS_URL"},
		{desc: "redis socket as a cluster", env: map[string]string{"REDIS_URL": "unix:///run/redis.sock?addr=h:7001"}, field: "REDIS_URL"},
		{desc: "redis socket through sentinel", env: map[string]string{"REDIS_URL": "unix:///run/redis.sock?master_name=m&password=hunter2"}, field: "REDIS_URL"},
		{desc: "log level", args: []string{"--log-level", "loud"}, field: "--log-level"},
		{desc: "log format", args: []string{"--log-format", "xml"}, field: "--log-format"},
		{desc: "shutdown timeout", args: []string{"--shutdown-timeout", "soon"}, field: "--shutdown-timeout"},
		{desc: "negative socket limit", args: []string{"--max-sockets", "-1"}, field: "--max-sockets"},
		{desc: "no visitor handlers", args: []string{"--visitor-handlers", "0"}, field: "--visitor-handlers"},
		{desc: "memory bound not a number", args: []string{"--max-memory-mb", "lots"}, field: "--max-memory-mb"},
		{desc: "pprof address", args: []string{"--pprof-listen", "6060"}, field: "--pprof-listen"},
		{desc: "trust proxy", args: []string{"--trust-proxy", "maybe"}, field: "--trust-proxy"},
		{desc: "twilio half configured", env: map[string]string{"TWILIO_ACCOUNT_SID": "AC1"}, field: "TWILIO_ACCOUNT_SID"},
		{desc: "twilio token not alnum", env: map[string]string{"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "hunter2!"}, field: "TWILIO_AUTH_TOKEN"},
		{desc: "time zone unknown", args: []string{"--time-zone", "Mars/Olympus"}, field: "--time-zone"},
		{desc: "time zone of the machine", env: map[string]string{"SWITCHBOARD_TIME_ZONE": "Local"}, field: "SWITCHBOARD_TIME_ZONE"},
		{desc: "workspace with brace", args: []string{"--workspace", "a}b"}, field: "--workspace"},
		{desc: "unknown flag", args: []string{"--frobnicate"}, field: "flags"},
		{desc: "stray argument", args: []string{"extra"}, field: "arguments"},
		{desc: "missing config file", args: []string{"--config", "/nonexistent/sb.yaml"}, field: "--config"},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tc.args, env(tc.env), io.Discard)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("want *Error, got %v", err)
			}
			if !strings.Contains(ce.Field, tc.field) {
				t.Fatalf("error %q does not name %s", err, tc.field)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("secret leaked into error: %q", err)
			}
		})
	}
}

func TestRedisURLForms(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://h:6379/0",
		"rediss://u:p@h:6380",
		"redis://h:26379/0?master_name=m",
		"unix:///run/redis/redis.sock",
		"unix://:p@/run/redis/redis.sock?db=2",
	} {
		c, err := Load(nil, env(map[string]string{"REDIS_URL": u}), io.Discard)
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		if c.RedisURL != u {
			t.Errorf("%s: kept as %s", u, c.RedisURL)
		}
	}
}

func TestUnknownFileKeyRejected(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "sb.yaml")
	if err := os.WriteFile(file, []byte("lisen: typo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load([]string{"--config", file}, env(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	_, err := Load([]string{"-h"}, env(nil), &out)
	if !errors.Is(err, ErrHelp) || !strings.Contains(out.String(), "SWITCHBOARD_LISTEN") {
		t.Fatalf("err=%v usage=%q", err, out.String())
	}
}

// How many messages a gateway sends at once comes from the file, within
// bounds.
func TestOutboxSendWorkers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		yaml string
		want int
		bad  bool
	}{
		{yaml: "", want: 0},
		{yaml: "outbox: {send_workers: 200}\n", want: 200},
		{yaml: "outbox: {send_workers: -1}\n", bad: true},
		{yaml: "outbox: {send_workers: 100000}\n", bad: true},
	} {
		file := filepath.Join(dir, fmt.Sprintf("sb%d.yaml", tc.want))
		if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load([]string{"--config", file}, env(nil), io.Discard)
		var ce *Error
		switch {
		case tc.bad && (!errors.As(err, &ce) || ce.Field != "outbox.send_workers"):
			t.Errorf("%q: want an error naming outbox.send_workers, got %v", tc.yaml, err)
		case !tc.bad && err != nil:
			t.Errorf("%q: %v", tc.yaml, err)
		case !tc.bad && c.File.Outbox.SendWorkers != tc.want:
			t.Errorf("%q: send_workers %d, want %d", tc.yaml, c.File.Outbox.SendWorkers, tc.want)
		}
	}
}
