package routing

import (
	"testing"
	"time"
)

// The scripts build key names from the segments in keys.go; this checks that
// what they write is where the Go side looks.
func TestScriptsUseTheKeysOfKeysGo(t *testing.T) {
	t.Parallel()
	v := newEnv(t, []QueueConfig{{Name: "support", WrapUpSeconds: 10, OverflowQueue: "other"}, {Name: "other"}})
	k := newKeys(v.ws)
	v.agent(AgentConfig{ID: "a", Queues: []string{"support"}})
	v.enqueue(Request{ConversationID: "held"})
	v.must(v.e.Accept(v.ctx, "held", "a"))
	v.must(v.e.Close(v.ctx, "held", "a"))
	v.enqueue(Request{ConversationID: "offered"})
	v.must(v.e.SetAgentState(v.ctx, "a", StateAway, ""))
	v.enqueue(Request{ConversationID: "late", Skills: []string{"nobody"}})
	v.clock.Add(time.Hour)
	v.must(v.e.Sweep(v.ctx)) // "late" overflows into "other"
	v.must(v.e.SetAgentState(v.ctx, "a", StateAvailable, ""))
	v.enqueue(Request{ConversationID: "held2"})
	v.must(v.e.Accept(v.ctx, "held2", "a"))
	v.must(v.e.Close(v.ctx, "held2", "a"))
	v.enqueue(Request{ConversationID: "offered2"})
	cases := []struct {
		desc string
		key  string
	}{
		{"events", k.events()},
		{"conversation", k.conv("held")},
		{"agent", k.agent("a")},
		{"agent's conversations", k.agentConvs("a")},
		{"agents", k.agents()},
		{"queue", k.queue("support", chChat)},
		{"overflow", k.overflow("other", chChat)},
		{"available agents", k.avail("support", chSMS)},
		{"online agents", k.online("support")},
		{"queue settings", k.qcfg("support")},
		{"offers", k.offers()},
		{"wrap-ups", k.wrapups()},
		{"heartbeats", k.seen()},
		{"overflow due", k.ovfDue()},
		{"waits", k.waits("support")},
		{"handle times", k.handles("support")},
	}
	for _, c := range cases {
		if n, err := v.rc.Exists(v.ctx, c.key).Result(); err != nil || n != 1 {
			t.Errorf("%s: key %s missing (%v)", c.desc, c.key, err)
		}
	}
}
