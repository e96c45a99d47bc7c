// Package routing matches waiting conversations to human agents.
//
// It owns queues, agents, capacity per channel, skills, offers with
// deadlines, recovery of lapsed offers, wrap-up, overflow and wait-time
// estimates. All state lives in Redis; every decision is one Lua script
// (lua/*.lua), so any number of gateways can share one Redis and never offer
// a conversation to two agents or put an agent over capacity. Gateways are
// interchangeable: each runs the same Engine, acts on the triggers it sees
// (enqueue, accept, decline, close, agent state) and runs a sweep that
// requeues lapsed offers left by any gateway, including a dead one.
//
// The package knows nothing of HTTP or channels; docs/routing.md explains
// the algorithm, keys and scripts.
package routing
