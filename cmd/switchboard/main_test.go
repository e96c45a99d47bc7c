package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/redistest"
)

func TestInvalidConfigExitsTwoNamingTheField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc  string
		args  []string
		env   map[string]string
		field string
	}{
		{desc: "listen flag", args: []string{"--listen", "nonsense"}, field: "--listen"},
		{desc: "serve subcommand", args: []string{"serve", "--listen", "nonsense"}, field: "--listen"},
		{desc: "redis env hides secret", env: map[string]string{"REDIS_URL": "ftp://x:topsecret@h"}, field: "REDIS_URL"},
		{desc: "unknown command", args: []string{"frobnicate"}, field: "unknown command"},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := run(tc.args, func(k string) string { return tc.env[k] }, strings.NewReader(""), &out, &errb)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitUsage, errb.String())
			}
			if !strings.Contains(errb.String(), tc.field) {
				t.Fatalf("stderr %q does not name %s", errb.String(), tc.field)
			}
			if strings.Contains(errb.String(), "topsecret") {
				t.Fatal("secret printed")
			}
		})
	}
}

func TestAgentAndTokenCommandsAgainstRealRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	env := map[string]string{"REDIS_URL": srv.URL()}
	getenv := func(k string) string { return env[k] }
	sh := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(args, getenv, strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, _ := sh("", "agent", "add", "--id", "ana", "--name", "Ana", "--password-stdin"); code == 0 {
		t.Fatal("empty password accepted")
	}
	if code, out, errs := sh("correct horse battery\n", "agent", "add", "--id", "ana", "--name", "Ana Lima", "--skills", "billing,es", "--password-stdin"); code != 0 {
		t.Fatalf("agent add: %d %s %s", code, out, errs)
	}
	code, out, _ := sh("", "agent", "list")
	if code != 0 || !strings.Contains(out, "ana") || !strings.Contains(out, "billing,es") || strings.Contains(out, "horse") {
		t.Fatalf("agent list: %d %q", code, out)
	}
	if code, _, _ := sh("", "agent", "disable", "--id", "ana"); code != 0 {
		t.Fatal("agent disable failed")
	}
	if _, out, _ := sh("", "agent", "list"); !strings.Contains(out, "disabled") {
		t.Fatalf("not disabled: %q", out)
	}
	code, tok, errs := sh("", "token", "create", "--name", "crm", "--role", "supervisor")
	if code != 0 || !strings.HasPrefix(tok, "sbt_") {
		t.Fatalf("token create: %d %q %s", code, tok, errs)
	}
	if _, out, _ := sh("", "token", "list"); !strings.Contains(out, "crm") || strings.Contains(out, strings.TrimSpace(tok)) {
		t.Fatalf("token list must name the token and never show it: %q", out)
	}
	if code, _, _ := sh("", "token", "revoke", "--name", "crm"); code != 0 {
		t.Fatal("token revoke failed")
	}
	if code, _, errs := sh("", "agent", "add", "--id", "bad id!", "--password-stdin"); code != exitUsage {
		t.Fatalf("bad id: exit %d %s", code, errs)
	}
}

func TestAdminCommandsRefuseTheEmbeddedStore(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := run([]string{"agent", "list"}, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "REDIS_URL") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}
