package main

import (
	"bytes"
	"strings"
	"testing"
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
