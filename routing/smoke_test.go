package routing

import "testing"

func TestSmoke(t *testing.T) {
	v := newEnv(t, nil)
	v.agent(AgentConfig{ID: "a1"})
	v.enqueue(Request{ConversationID: "c1"})
	v.expect("c1", ConvOffered, "a1")
	v.must(v.e.Accept(v.ctx, "c1", "a1"))
	v.expect("c1", ConvActive, "a1")
	v.must(v.e.Close(v.ctx, "c1", "a1"))
	v.expect("c1", ConvClosed, "")
	t.Log(v.eventTypes("c1"))
}
