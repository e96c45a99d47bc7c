package routing

import "testing"

func TestAgentServes(t *testing.T) {
	t.Parallel()
	q := QueueConfig{Name: "billing", Skills: []string{"de"}}
	base := func() AgentStatus {
		return AgentStatus{ID: "ana", State: StateAvailable, Skills: []string{"de", "fr"},
			Capacity: map[string]int{"chat": 3}, Load: map[string]int{}}
	}
	tests := []struct {
		desc string
		mod  func(*AgentStatus)
		want bool
	}{
		{"available with the skill, all queues", func(*AgentStatus) {}, true},
		{"busy still counts as there", func(a *AgentStatus) { a.Load["chat"] = 3; a.Busy = true }, true},
		{"listed queue", func(a *AgentStatus) { a.Queues = []string{"support", "billing"} }, true},
		{"other queues only", func(a *AgentStatus) { a.Queues = []string{"support"} }, false},
		{"away", func(a *AgentStatus) { a.State = StateAway }, false},
		{"offline", func(a *AgentStatus) { a.State = StateOffline }, false},
		{"no chat capacity", func(a *AgentStatus) { a.Capacity["chat"] = 0 }, false},
		{"missing skill", func(a *AgentStatus) { a.Skills = []string{"fr"} }, false},
	}
	for _, tc := range tests {
		a := base()
		tc.mod(&a)
		if got := a.Serves(q, "chat"); got != tc.want {
			t.Errorf("%s: Serves = %v, want %v", tc.desc, got, tc.want)
		}
	}
}
