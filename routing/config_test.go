package routing

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// internal/config decodes the file's queues: and agents: sections straight
// into these types.
func TestConfigFromYAML(t *testing.T) {
	t.Parallel()
	src := `
queues:
  - name: sales
    channels: [chat, voice]
    skills: [spanish]
    priority: 2
    returning_boost: 1
    vip_boost: 5
    offer_timeout_seconds: {voice: 15}
    auto_accept: [email]
    service_level_seconds: 30
    sticky_window_seconds: -1
    overflow_queue: support
    overflow_after_seconds: 90
    wrap_up_seconds: 20
agents:
  - id: ana
    name: Ana
    skills: [spanish]
    queues: [sales]
    capacity: {chat: 2, voice: 0}
    voice_shared: true
    max_missed_offers: 5
`
	var f struct {
		Queues []QueueConfig `yaml:"queues"`
		Agents []AgentConfig `yaml:"agents"`
	}
	if err := yaml.Unmarshal([]byte(src), &f); err != nil {
		t.Fatal(err)
	}
	q, a := f.Queues[0], f.Agents[0]
	if q.Name != "sales" || q.Priority != 2 || q.OfferTimeout(chVoice).Seconds() != 15 || q.OfferTimeout(chChat).Seconds() != 30 ||
		q.StickyWindow() >= 0 || q.OverflowQueue != "support" || q.OverflowAfter().Seconds() != 90 || q.WrapUpSeconds != 20 ||
		q.ServiceLevel().Seconds() != 30 || len(q.AutoAccept) != 1 || q.VIPBoost != 5 {
		t.Errorf("queue decoded as %+v", q)
	}
	if err := q.Validate(); err != nil {
		t.Error(err)
	}
	if a.ID != "ana" || a.Name != "Ana" || !a.VoiceShared || a.MaxMissedOffers != 5 {
		t.Errorf("agent decoded as %+v", a)
	}
	cases := []struct {
		desc string
		d    AgentDefaults
		ch   string
		want int
	}{
		{desc: "agent's own capacity", ch: chChat, want: 2},
		{desc: "explicit zero takes none", ch: chVoice, want: 0},
		{desc: "built-in default", ch: chSMS, want: 5},
		{desc: "workspace default", d: AgentDefaults{Capacity: map[string]int{chEmail: 9}}, ch: chEmail, want: 9},
	}
	for _, c := range cases {
		if got := a.capacity(c.d, c.ch); got != c.want {
			t.Errorf("%s: capacity %d; want %d", c.desc, got, c.want)
		}
	}
	if got := capacityArg(a, AgentDefaults{}); got != "voice=0,chat=2,sms=5,email=5" {
		t.Errorf("capacity argument %q", got)
	}
}

func TestAgentConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		desc  string
		a     AgentConfig
		field string
	}{
		{desc: "minimal", a: AgentConfig{ID: "a"}},
		{desc: "id required", a: AgentConfig{}, field: "agent id"},
		{desc: "unknown channel", a: AgentConfig{ID: "a", Capacity: map[string]int{"fax": 1}}, field: "capacity"},
		{desc: "bad skill", a: AgentConfig{ID: "a", Skills: []string{"x y"}}, field: "skills"},
	}
	for _, c := range cases {
		err := c.a.Validate()
		if (c.field == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.field)) {
			t.Errorf("%s: got %v; want error naming %q", c.desc, err, c.field)
		}
	}
}
