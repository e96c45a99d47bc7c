package desk

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/routing"
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
	agents, err := d.onlineAgents(ctx, now)
	if err != nil {
		return st, err
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

// onlineAgents returns routing's agent list, read at most once per
// agentsFresh. When it is stale, one caller reads it and the others wait
// for that read: a burst of visitors arriving together would otherwise
// each read every agent's record.
func (d *Desk) onlineAgents(ctx context.Context, now time.Time) ([]routing.AgentStatus, error) {
	d.agentsMu.Lock()
	defer d.agentsMu.Unlock()
	if now.Sub(d.agentsAt) <= agentsFresh {
		return d.agents, nil
	}
	agents, err := d.engine.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("desk: chat availability: %w", err)
	}
	d.agents, d.agentsAt = agents, time.Now()
	return agents, nil
}
