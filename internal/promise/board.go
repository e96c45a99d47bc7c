package promise

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// boardLimit bounds each list of the board.
const boardLimit = 200

// Item is a promise on the supervisor board, with its owner's state.
type Item struct {
	Promise
	// Outcome is the state as of the board's time (an open promise past
	// due is late).
	Outcome State `json:"outcome"`
	// OwnerState is the agent's routing state ("available", "away",
	// "offline"; "" when unknown).
	OwnerState string `json:"owner_state"`
}

// Board is what supervisors watch: open promises due within the hour,
// open promises whose owner is away or offline (at risk), promises late
// (open past due, or kept late within the last day) and broken within the
// last day. A promise may be on more than one list.
type Board struct {
	At      time.Time `json:"at"`
	DueSoon []Item    `json:"due_soon"`
	AtRisk  []Item    `json:"at_risk"`
	Late    []Item    `json:"late"`
	Broken  []Item    `json:"broken"`
}

// Board builds the supervisor board as of now.
func (s *Service) Board(ctx context.Context) (Board, error) {
	now := s.p.Now()
	b := Board{At: now.UTC(), DueSoon: []Item{}, AtRisk: []Item{}, Late: []Item{}, Broken: []Item{}}
	openIDs, err := s.rdb.ZRange(ctx, s.k.open(), 0, 4*boardLimit).Result()
	if err != nil {
		return Board{}, fmt.Errorf("promise: board: %w", err)
	}
	doneIDs, err := s.rdb.ZRangeByScore(ctx, s.k.done(), &redis.ZRangeBy{
		Min: strconv.FormatInt(ms(now.Add(-24*time.Hour)), 10), Max: "+inf", Count: 4 * boardLimit}).Result()
	if err != nil {
		return Board{}, fmt.Errorf("promise: board: %w", err)
	}
	open, err := s.load(ctx, openIDs)
	if err != nil {
		return Board{}, err
	}
	done, err := s.load(ctx, doneIDs)
	if err != nil {
		return Board{}, err
	}
	states := map[string]string{}
	owner := func(p Promise) string {
		st, ok := states[p.AgentID]
		if !ok && s.p.Router != nil {
			st, _, _ = s.p.Router.Owner(ctx, p.AgentID, p.Channel)
			states[p.AgentID] = st
		}
		return st
	}
	add := func(list *[]Item, p Promise) {
		if len(*list) < boardLimit {
			*list = append(*list, Item{Promise: p, Outcome: p.Outcome(now), OwnerState: owner(p)})
		}
	}
	for _, p := range open {
		if p.Due.After(now) && !p.Due.After(now.Add(time.Hour)) {
			add(&b.DueSoon, p)
		}
		if !p.Due.After(now) {
			add(&b.Late, p)
		}
		if st := owner(p); st == "away" || st == "offline" {
			add(&b.AtRisk, p)
		}
	}
	for i := len(done) - 1; i >= 0; i-- { // newest first
		switch done[i].State {
		case Late:
			add(&b.Late, done[i])
		case Broken:
			add(&b.Broken, done[i])
		}
	}
	return b, nil
}
