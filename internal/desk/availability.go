package desk

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// ChatAvailability is whether a queue's chats are answered now.
type ChatAvailability struct {
	// Open is false outside the queue's business hours.
	Open bool
	// Opens says when they begin again, in the customer's words ("tomorrow
	// at 09:00 CET"); empty when open or unknown.
	Opens string
	// AgentsOnline counts agents available for the queue's chats now, busy
	// or not. Zero: nobody would see a chat until someone comes online.
	AgentsOnline int
}

// agentsFresh bounds how stale the online count told to customers may be:
// every widget load and queue poll asks who is online, and routing's agent
// list is read at most once per agentsFresh for all of them.
const agentsFresh = 2 * time.Second

// Availability tells the chat widget whether anyone answers queue now: the
// queue's business hours (in the workspace zone) and the agents routing
// would offer its chats to.
func (d *Desk) Availability(ctx context.Context, queue string) (ChatAvailability, error) {
	now := time.Now()
	st := ChatAvailability{Open: true}
	if d.hours != nil {
		if sched := d.hours.Hours(queue); !sched.IsOpen(now) {
			st.Open = false
			if at, ok := sched.NextOpen(now); ok {
				st.Opens = sched.Describe(now, at)
			}
		}
	}
	d.agentsMu.Lock()
	agents, at := d.agents, d.agentsAt
	d.agentsMu.Unlock()
	if now.Sub(at) > agentsFresh {
		var err error
		if agents, err = d.engine.Agents(ctx); err != nil {
			return st, fmt.Errorf("desk: chat availability: %w", err)
		}
		d.agentsMu.Lock()
		d.agents, d.agentsAt = agents, now
		d.agentsMu.Unlock()
	}
	for _, q := range d.engine.Queues() {
		if q.Name != queue {
			continue
		}
		for _, a := range agents {
			if a.Serves(q, string(channel.Chat)) {
				st.AgentsOnline++
			}
		}
	}
	return st, nil
}
