package desk

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
)

// agentNameTTL is how long an agent's names read here are reused. Every
// offer, transcript line and close names its agent, and reading the names
// took three of a contact's Redis round trips. A rename made on this
// gateway shows at once (auth.Service.Changes); one made on another
// gateway within this.
const agentNameTTL = 10 * time.Second

// agentNameCap bounds the cache; past it, it starts over.
const agentNameCap = 10_000

// agentNames is what an agent is called: full, as colleagues see it, and
// shown, as customers are told it.
type agentNames struct {
	full, shown string
}

// agentNameCache remembers agentNames per agent id.
type agentNameCache struct {
	mu      sync.Mutex
	changes uint64 // auth's change count the entries were read at
	byID    map[string]agentNameEntry
}

type agentNameEntry struct {
	names agentNames
	until time.Time
}

// namesOf reads agentID's names (routing's name, else the account's, else
// the id; the account's display name, else the first word of that), or
// reuses a recent read.
func (d *Desk) namesOf(ctx context.Context, agentID string) agentNames {
	c := &d.agentNames
	changes := d.auth.Changes() // before the reads: a change during them makes this read stale at once
	now := time.Now()
	c.mu.Lock()
	if changes > c.changes {
		c.byID, c.changes = nil, changes
	}
	// A caller that read the count before a change another caller has
	// seen already reads afresh and remembers nothing (below).
	if e, ok := c.byID[agentID]; ok && changes == c.changes && now.Before(e.until) {
		c.mu.Unlock()
		return e.names
	}
	c.mu.Unlock()

	n := agentNames{full: agentID}
	routed, rerr := d.engine.AgentName(ctx, agentID)
	acct, aerr := d.auth.Account(ctx, agentID)
	switch {
	case rerr == nil && routed != "":
		n.full = routed
	case aerr == nil && acct.Name != "":
		n.full = acct.Name
	}
	n.shown = auth.FirstName(n.full)
	if aerr == nil && acct.DisplayName != "" {
		n.shown = acct.DisplayName
	}
	if rerr != nil || (aerr != nil && !errors.Is(aerr, auth.ErrNotFound)) {
		return n // a failed read is not remembered
	}
	c.mu.Lock()
	if c.changes == changes {
		if c.byID == nil || len(c.byID) >= agentNameCap {
			c.byID = map[string]agentNameEntry{}
		}
		c.byID[agentID] = agentNameEntry{names: n, until: now.Add(agentNameTTL)}
	}
	c.mu.Unlock()
	return n
}

// forgetNames drops agentID's remembered names (routing's record of it
// was just written here).
func (d *Desk) forgetNames(agentID string) {
	d.agentNames.mu.Lock()
	delete(d.agentNames.byID, agentID)
	d.agentNames.mu.Unlock()
}
