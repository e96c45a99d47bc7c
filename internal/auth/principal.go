package auth

import (
	"context"
	"fmt"
	"slices"
)

// Role is what an account or token may do. Roles rank agent < supervisor <
// admin; each may do everything the ones below it may.
type Role string

// The roles.
const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case RoleAgent:
		return 1
	case RoleSupervisor:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r ranks at least as high as min.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", fmt.Errorf("auth: unknown role %q (agent, supervisor or admin)", s)
	}
	return r, nil
}

// Principal is who made a request: an account through a session, or an
// API token.
type Principal struct {
	// AccountID is the account id, or "token:<name>" for an API token.
	AccountID string `json:"id"`
	Name      string `json:"name"`
	// DisplayName is the account's name for customers (Account.CustomerName).
	DisplayName string   `json:"display_name,omitempty"`
	Role        Role     `json:"role"`
	Skills      []string `json:"skills,omitempty"`
	Queues      []string `json:"queues,omitempty"`
	// Via is "session" or "token".
	Via string `json:"via"`

	csrf       string // the session's CSRF token; empty for tokens
	sessionKey string // the session's Redis key, for logout
}

// Via values of a Principal.
const (
	ViaSession = "session"
	ViaToken   = "token"
)

// IsAgentOnly reports whether p sees only its own conversations: agents
// do, supervisors and admins see everything.
func (p Principal) IsAgentOnly() bool { return !p.Role.AtLeast(RoleSupervisor) }

// CanServeQueue reports whether p may be offered work from queue.
func (p Principal) CanServeQueue(queue string) bool {
	return p.Role.AtLeast(RoleSupervisor) || slices.Contains(p.Queues, queue)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p, for code below the HTTP layer (a
// websocket protocol, a service call) that needs to know who is asking.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal put in ctx by WithPrincipal.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
