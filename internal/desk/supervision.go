package desk

import (
	"context"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/recovery"
	"github.com/switchboard/switchboard/internal/stats"
	"github.com/switchboard/switchboard/internal/survey"
	"github.com/switchboard/switchboard/routing"
)

// Supervision is what the supervisor view needs of the core: the folded
// board with the waiting customers' names, and the supervisor's actions,
// decided and done by the desk.
type Supervision struct {
	Desk  *Desk
	Stats *stats.Service
	// Surveys and Recovery give the board its satisfaction figures; nil:
	// none shown.
	Surveys interface {
		Figures(ctx context.Context, from, to time.Time) ([]survey.Row, error)
	}
	Recovery interface {
		Figures(ctx context.Context) (recovery.Figures, error)
	}

	// names caches customer names of conversations: boards are
	// built up to four times a second and names do not change that often.
	mu    sync.Mutex
	names map[string]string
}

// SupervisorBoard is the board as the view sends it: the folded figures
// and today's satisfaction beside them.
type SupervisorBoard struct {
	stats.Board
	Satisfaction *Satisfaction `json:"satisfaction,omitempty"`
}

// Satisfaction is today's survey figures (CSAT, response rate; overall,
// per queue, agent and channel) and the recovery rate since the start.
type Satisfaction struct {
	Rows     []survey.Row      `json:"rows"`
	Recovery *recovery.Figures `json:"recovery,omitempty"`
}

// Board is the board as the view sends it.
func (s *Supervision) Board(ctx context.Context) (any, error) {
	b, err := s.BoardWithNames(ctx)
	if err != nil {
		return nil, err
	}
	out := SupervisorBoard{Board: b}
	if s.Surveys != nil {
		now := time.Now()
		rows, err := s.Surveys.Figures(ctx, now, now)
		if err != nil {
			return nil, err
		}
		out.Satisfaction = &Satisfaction{Rows: rows}
		if s.Recovery != nil {
			f, err := s.Recovery.Figures(ctx)
			if err != nil {
				return nil, err
			}
			out.Satisfaction.Recovery = &f
		}
	}
	return out, nil
}

// maxNames bounds the name cache; it is simply emptied when full.
const maxNames = 2000

// BoardWithNames is the folded board with the customers' names of the
// waiting conversations and of each agent's.
func (s *Supervision) BoardWithNames(ctx context.Context) (stats.Board, error) {
	b, err := s.Stats.Board(ctx)
	if err != nil {
		return b, err
	}
	for qi := range b.Queues {
		for wi := range b.Queues[qi].WaitingNow {
			w := &b.Queues[qi].WaitingNow[wi]
			w.Customer = s.customerName(ctx, w.ID)
		}
	}
	for ai := range b.Agents {
		a := &b.Agents[ai]
		for _, id := range a.Conversations {
			if name := s.customerName(ctx, id); name != "" {
				if a.Customers == nil {
					a.Customers = map[string]string{}
				}
				a.Customers[id] = name
			}
		}
	}
	return b, nil
}

func (s *Supervision) customerName(ctx context.Context, convID string) string {
	s.mu.Lock()
	name, ok := s.names[convID]
	s.mu.Unlock()
	if ok {
		return name
	}
	name = s.Desk.CustomerName(ctx, convID)
	if name == "" {
		return "" // shown by id; a later board tries again
	}
	s.mu.Lock()
	if s.names == nil || len(s.names) >= maxNames {
		s.names = map[string]string{}
	}
	s.names[convID] = name
	s.mu.Unlock()
	return name
}

// Assign is the supervisor's force-assign, decided and done by the desk.
func (s *Supervision) Assign(ctx context.Context, who Actor, convID, agentID string) error {
	return s.Desk.Assign(ctx, who, convID, agentID)
}

// SetAgentState sets an agent's state, decided and done by the desk.
func (s *Supervision) SetAgentState(ctx context.Context, who Actor, agentID, state, reason string) error {
	return s.Desk.SetAgentState(ctx, who, agentID, state, reason)
}

// StatsSource is routing's event stream and agents as the stats service
// folds them (stats.Source).
type StatsSource struct{ Engine *routing.Engine }

func (s StatsSource) Events(ctx context.Context, afterID string, count int) ([]stats.Event, error) {
	evs, err := s.Engine.Events(ctx, afterID, count)
	if err != nil {
		return nil, err
	}
	out := make([]stats.Event, len(evs))
	for i, e := range evs {
		out[i] = statsEvent(e)
	}
	return out, nil
}

func (s StatsSource) Subscribe(ctx context.Context) (<-chan stats.Event, error) {
	sub, err := s.Engine.Subscribe(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan stats.Event, 1)
	go func() {
		defer close(out)
		for e := range sub.C {
			// Only a doorbell: the service reads the stream itself, so a
			// full bell loses nothing.
			select {
			case out <- stats.Event{ID: e.ID}:
			default:
			}
		}
	}()
	return out, nil
}

func (s StatsSource) Agents(ctx context.Context) ([]stats.AgentLive, error) {
	as, err := s.Engine.Agents(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]stats.AgentLive, len(as))
	for i, a := range as {
		out[i] = stats.AgentLive{ID: a.ID, Name: a.Name, State: string(a.State), Reason: a.Reason, Since: a.Since,
			Capacity: a.Capacity, Load: a.Load, Conversations: a.Conversations}
	}
	return out, nil
}

// statsEvent converts one routing event; a transfer names the queue it
// left as Queue and the new one as ToQueue, as the folder expects. An
// abandon is staff's close only when routing says so: one written before
// the cause existed is read as the customer's, as it was counted then.
func statsEvent(e routing.Event) stats.Event {
	out := stats.Event{ID: e.ID, Type: stats.EventType(e.Type), ConversationID: e.ConversationID,
		Queue: e.Queue, Channel: e.Channel, AgentID: e.AgentID, At: e.At,
		EstimateLow: e.EstimateLow, EstimateHigh: e.EstimateHigh, Wait: e.Wait, Handle: e.Handle,
		State: string(e.State), Reason: e.Reason}
	switch e.Type {
	case routing.EventAbandoned:
		out.ClosedInQueue = e.ClosedInQueue()
	case routing.EventEnqueued:
		out.EnqueuedAt = e.EnqueuedAt
	case routing.EventTransferred:
		if e.FromQueue != "" {
			out.Queue = e.FromQueue
		}
		out.ToQueue = e.Queue
	}
	return out
}
