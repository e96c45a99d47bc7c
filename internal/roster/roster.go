// Package roster manages the people who answer conversations: it adds,
// changes, disables and re-enables agents and resets their passwords, for
// the admin page of the console, the /api/v1/agents routes and the
// `switchboard agent` subcommands alike.
//
// An agent lives in two places, each owning its part: internal/auth keeps
// the account (id, display name, role, password, disabled), routing keeps
// what matching needs (skills, queues, capacity per channel, state). The
// roster writes both, so an agent added here is known to routing before
// first signing in, with the skills and capacity the admin chose.
//
// The account is written first: an id that is taken fails before routing
// is touched. Input is checked against both owners before anything is
// written, so a bad queue name or capacity leaves nothing half made; a
// Redis failure between the two writes leaves an account whose routing
// profile the next Update (or the first sign-in) writes.
package roster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/routing"
)

// Sentinel errors callers branch on.
var (
	// ErrInvalid: input that is not acceptable; the message names the field.
	ErrInvalid = errors.New("roster: invalid input")
	// ErrNotFound: no account with that id.
	ErrNotFound = errors.New("roster: no such agent")
	// ErrExists: the id is taken.
	ErrExists = errors.New("roster: agent exists")
	// ErrSelf: an admin may not disable, or take the admin role from, the
	// account they are signed in with; nobody would be left to undo it.
	ErrSelf = errors.New("roster: not on your own account")
)

// MaxCapacity bounds the conversations per channel an admin may give one
// agent; more than this is a typing error, not a staffing decision.
const MaxCapacity = 50

// Routing is what the roster needs of the routing engine (routing.Engine).
type Routing interface {
	UpsertAgent(ctx context.Context, a routing.Agent) error
	Agent(ctx context.Context, id string) (routing.AgentStatus, error)
	Agents(ctx context.Context) ([]routing.AgentStatus, error)
	SetAgentState(ctx context.Context, agentID string, st routing.AgentState, reason string) error
	Queues() []routing.QueueConfig
}

// Agent is one person as an admin sees them: the account and its routing
// profile.
type Agent struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// DisplayName is what customers are told of the agent: the account's
	// display name, else the first word of Name.
	DisplayName string         `json:"display_name"`
	Role        auth.Role      `json:"role"`
	Skills      []string       `json:"skills"`
	Queues      []string       `json:"queues"`
	Capacity    map[string]int `json:"capacity"`
	Disabled    bool           `json:"disabled"`
	Created     time.Time      `json:"created"`
	// State is routing's: offline, available or away ("" before the agent
	// is known to routing).
	State string `json:"state"`
}

// NewAgent is an agent to add. Empty Queues means every queue; a channel
// missing from Capacity takes routing's default for it.
type NewAgent struct {
	ID   string
	Name string
	// DisplayName is the name customers are told; "" for the first word
	// of Name.
	DisplayName string
	Role        auth.Role
	Skills      []string
	Queues      []string
	Capacity    map[string]int
	// Password is the initial password; empty generates one, which Add
	// returns to be shown once.
	Password string
}

// Change is an update; nil fields stay as they are. Capacity entries
// replace those channels only.
type Change struct {
	Name *string
	// DisplayName is the name customers are told ("" for the first word
	// of Name).
	DisplayName *string
	Role        *auth.Role
	Skills      *[]string
	Queues      *[]string
	Capacity    map[string]int
	Disabled    *bool
}

// Service is the roster. It is safe for concurrent use.
type Service struct {
	auth    *auth.Service
	routing Routing
}

// New builds the roster on the account store and the routing engine.
func New(a *auth.Service, r Routing) *Service {
	return &Service{auth: a, routing: r}
}

// QueueNames lists the configured queues, for the admin page's choices.
func (s *Service) QueueNames() []string {
	var out []string
	for _, q := range s.routing.Queues() {
		out = append(out, q.Name)
	}
	return out
}

// List returns every account with its routing profile, ordered by id.
func (s *Service) List(ctx context.Context) ([]Agent, error) {
	accts, err := s.auth.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("roster: list: %w", err)
	}
	statuses, err := s.routing.Agents(ctx)
	if err != nil {
		return nil, fmt.Errorf("roster: list: %w", err)
	}
	byID := make(map[string]routing.AgentStatus, len(statuses))
	for _, st := range statuses {
		byID[st.ID] = st
	}
	out := make([]Agent, 0, len(accts))
	for _, a := range accts {
		st, ok := byID[a.ID]
		out = append(out, merge(a, st, ok))
	}
	return out, nil
}

// Get returns one agent.
func (s *Service) Get(ctx context.Context, id string) (Agent, error) {
	a, err := s.auth.Account(ctx, id)
	if err != nil {
		return Agent{}, mapErr(err)
	}
	st, err := s.routing.Agent(ctx, id)
	if err != nil && !errors.Is(err, routing.ErrNotFound) {
		return Agent{}, fmt.Errorf("roster: agent %s: %w", id, err)
	}
	return merge(a, st, err == nil), nil
}

func merge(a auth.Account, st routing.AgentStatus, known bool) Agent {
	ag := Agent{
		ID: a.ID, Name: a.Name, DisplayName: a.CustomerName(), Role: a.Role, Skills: nonNil(a.Skills), Queues: nonNil(a.Queues),
		Disabled: a.Disabled, Created: a.Created, Capacity: map[string]int{},
	}
	if known {
		// Routing's copy is the one matching uses; the account's copy is
		// what the first sign-in of an agent unknown to routing starts from.
		ag.Skills, ag.Queues = nonNil(st.Skills), nonNil(st.Queues)
		ag.Capacity = maps.Clone(st.Capacity)
		ag.State = string(st.State)
		if ag.Name == "" {
			ag.Name = st.Name
		}
	}
	return ag
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// Add creates the account and its routing profile. It returns the agent
// and, when n.Password was empty, the generated password, which is stored
// only as a hash: show it once.
func (s *Service) Add(ctx context.Context, n NewAgent) (Agent, string, error) {
	if n.Role == "" {
		n.Role = auth.RoleAgent
	}
	acct := auth.Account{ID: n.ID, Name: n.Name, DisplayName: n.DisplayName, Role: n.Role, Skills: n.Skills, Queues: n.Queues}
	cfg := routing.AgentConfig{ID: n.ID, Name: n.Name, Skills: n.Skills, Queues: n.Queues, Capacity: n.Capacity}
	if err := s.check(acct, cfg); err != nil {
		return Agent{}, "", err
	}
	generated := ""
	if n.Password == "" {
		pw, err := auth.GeneratePassword()
		if err != nil {
			return Agent{}, "", err
		}
		n.Password, generated = pw, pw
	}
	if err := s.auth.CreateAccount(ctx, acct, n.Password); err != nil {
		return Agent{}, "", mapErr(err)
	}
	if err := s.routing.UpsertAgent(ctx, cfg); err != nil {
		return Agent{}, "", fmt.Errorf("roster: add %s: routing profile: %w", n.ID, err)
	}
	ag, err := s.Get(ctx, n.ID)
	return ag, generated, err
}

// Update changes an agent. by is the admin asking ("" from the command
// line): they may not disable themselves nor give up the admin role.
// Disabling also sets the agent offline in routing, so their open offers
// go back to the queue at once.
func (s *Service) Update(ctx context.Context, by, id string, ch Change) (Agent, error) {
	acct, err := s.auth.Account(ctx, id)
	if err != nil {
		return Agent{}, mapErr(err)
	}
	if by != "" && by == id {
		if ch.Disabled != nil && *ch.Disabled {
			return Agent{}, fmt.Errorf("%w: disable %s", ErrSelf, id)
		}
		if ch.Role != nil && *ch.Role != auth.RoleAdmin && acct.Role == auth.RoleAdmin {
			return Agent{}, fmt.Errorf("%w: change the role of %s", ErrSelf, id)
		}
	}
	st, err := s.routing.Agent(ctx, id)
	var cfg routing.AgentConfig
	switch {
	case err == nil:
		cfg = st.Config()
	case errors.Is(err, routing.ErrNotFound):
		// Added before the roster existed and never signed in.
		cfg = routing.AgentConfig{ID: id, Name: acct.Name, Skills: acct.Skills, Queues: s.known(acct.Queues)}
	default:
		return Agent{}, fmt.Errorf("roster: update %s: %w", id, err)
	}
	if ch.Name != nil {
		acct.Name, cfg.Name = *ch.Name, *ch.Name
	}
	if ch.DisplayName != nil {
		acct.DisplayName = *ch.DisplayName
	}
	if ch.Role != nil {
		acct.Role = *ch.Role
	}
	if ch.Skills != nil {
		acct.Skills, cfg.Skills = *ch.Skills, *ch.Skills
	}
	if ch.Queues != nil {
		acct.Queues, cfg.Queues = *ch.Queues, *ch.Queues
	}
	if len(ch.Capacity) > 0 {
		if cfg.Capacity == nil {
			cfg.Capacity = map[string]int{}
		}
		maps.Copy(cfg.Capacity, ch.Capacity)
	}
	if err := s.check(acct, cfg); err != nil {
		return Agent{}, err
	}
	if err := s.auth.UpdateAccount(ctx, acct); err != nil {
		return Agent{}, mapErr(err)
	}
	if err := s.routing.UpsertAgent(ctx, cfg); err != nil {
		return Agent{}, fmt.Errorf("roster: update %s: routing profile: %w", id, err)
	}
	if ch.Disabled != nil {
		if err := s.setDisabled(ctx, id, *ch.Disabled); err != nil {
			return Agent{}, err
		}
	}
	return s.Get(ctx, id)
}

// SetDisabled disables or re-enables an agent; see Update.
func (s *Service) SetDisabled(ctx context.Context, by, id string, disabled bool) error {
	_, err := s.Update(ctx, by, id, Change{Disabled: &disabled})
	return err
}

func (s *Service) setDisabled(ctx context.Context, id string, disabled bool) error {
	if err := s.auth.SetDisabled(ctx, id, disabled); err != nil {
		return mapErr(err)
	}
	if disabled {
		if err := s.routing.SetAgentState(ctx, id, routing.StateOffline, "disabled"); err != nil {
			return fmt.Errorf("roster: disable %s: set offline: %w", id, err)
		}
	}
	return nil
}

// ResetPassword replaces an agent's password with password, or with a
// generated one when it is empty, which it returns to be shown once.
func (s *Service) ResetPassword(ctx context.Context, id, password string) (generated string, err error) {
	if password == "" {
		if password, err = auth.GeneratePassword(); err != nil {
			return "", err
		}
		generated = password
	}
	if err := s.auth.SetPassword(ctx, id, password); err != nil {
		return "", mapErr(err)
	}
	return generated, nil
}

// check validates an account and its routing profile together before
// either is written.
func (s *Service) check(acct auth.Account, cfg routing.AgentConfig) error {
	if !acct.Role.Valid() {
		return fmt.Errorf("%w: role %q (agent, supervisor or admin)", ErrInvalid, acct.Role)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	known := s.QueueNames()
	for _, q := range cfg.Queues {
		if !slices.Contains(known, q) {
			return fmt.Errorf("%w: queue %q is not configured (%v)", ErrInvalid, q, known)
		}
	}
	for ch, n := range cfg.Capacity {
		if n < 0 || n > MaxCapacity {
			return fmt.Errorf("%w: capacity %s: %d is not within 0-%d", ErrInvalid, ch, n, MaxCapacity)
		}
	}
	return nil
}

// known keeps the queues that are configured: an account may name queues
// the configuration no longer has, and routing refuses unknown ones.
func (s *Service) known(queues []string) []string {
	names := s.QueueNames()
	var out []string
	for _, q := range queues {
		if slices.Contains(names, q) {
			out = append(out, q)
		}
	}
	return out
}

// mapErr turns the account store's sentinels into the roster's.
func mapErr(err error) error {
	switch {
	case errors.Is(err, auth.ErrNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case errors.Is(err, auth.ErrExists):
		return fmt.Errorf("%w: %v", ErrExists, err)
	case errors.Is(err, auth.ErrBadInput):
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return err
}
