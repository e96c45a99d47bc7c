package sms

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDocumentedConfigDecodes keeps the example in docs/channels/sms.md
// honest: it is cut out of the page, decoded as the wiring decodes the
// channels.sms section, and must build a channel.
func TestDocumentedConfigDecodes(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile("../../docs/channels/sms.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(page), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml example in the page")
	}
	var file struct {
		Channels map[string]yaml.Node `yaml:"channels"`
	}
	if err := yaml.Unmarshal([]byte(block), &file); err != nil {
		t.Fatal(err)
	}
	node := file.Channels["sms"]
	var cfg Config
	if err := node.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Numbers) != 2 || cfg.DefaultQueue != "general" || cfg.BusinessHours == nil ||
		len(cfg.BusinessHours.Open) != 3 || !cfg.Replies["sales"].Off || cfg.BodyLimit != 65536 {
		t.Fatalf("decoded %+v", cfg)
	}
	h := newHarness(t, func(c *Config, _ *Deps, _ *fakeCore) {
		c.Numbers, c.DefaultQueue, c.BusinessHours, c.Replies, c.BodyLimit =
			cfg.Numbers, cfg.DefaultQueue, cfg.BusinessHours, cfg.Replies, cfg.BodyLimit
	})
	if q := h.ch.QueueFor("+14155550199"); q != "support" {
		t.Fatalf("QueueFor = %q", q)
	}
}
