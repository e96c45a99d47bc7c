package promise

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxFigured bounds the promises one Figures call reads.
const maxFigured = 100_000

// Figure is how one queue's or one agent's promises ended in a period.
type Figure struct {
	Kept   int `json:"kept"`
	Late   int `json:"late"`
	Broken int `json:"broken"`
	// KeptOnTime is Kept ÷ (Kept + Late + Broken); nil with none resolved.
	KeptOnTime *float64 `json:"kept_on_time"`
	// MedianLatenessSeconds is the median of how late the late ones were
	// kept (due to resolution); nil with none late. Kept ones count as 0
	// nowhere: this says how late a late promise typically is.
	MedianLatenessSeconds *float64 `json:"median_lateness_seconds"`
}

// Figures are the promises resolved in [From, To), per queue and per agent.
type Figures struct {
	From    time.Time         `json:"from"`
	To      time.Time         `json:"to"`
	All     Figure            `json:"all"`
	Queues  map[string]Figure `json:"queues"`
	Agents  map[string]Figure `json:"agents"`
	Partial bool              `json:"partial,omitempty"` // more than maxFigured: the oldest were read
}

type tally struct {
	kept, late, broken int
	lateness           []float64
}

func (t *tally) add(p Promise) {
	switch p.State {
	case Kept:
		t.kept++
	case Late:
		t.late++
		t.lateness = append(t.lateness, p.LatenessSeconds)
	case Broken:
		t.broken++
	}
}

func (t *tally) figure() Figure {
	f := Figure{Kept: t.kept, Late: t.late, Broken: t.broken}
	if n := t.kept + t.late + t.broken; n > 0 {
		r := float64(t.kept) / float64(n)
		f.KeptOnTime = &r
	}
	if m, ok := median(t.lateness); ok {
		f.MedianLatenessSeconds = &m
	}
	return f
}

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// Figures folds the promises resolved in [from, to).
func (s *Service) Figures(ctx context.Context, from, to time.Time) (Figures, error) {
	ids, err := s.rdb.ZRangeByScore(ctx, s.k.done(), &redis.ZRangeBy{
		Min: strconv.FormatInt(ms(from), 10), Max: "(" + strconv.FormatInt(ms(to), 10), Count: maxFigured}).Result()
	if err != nil {
		return Figures{}, fmt.Errorf("promise: figures: %w", err)
	}
	ps, err := s.load(ctx, ids)
	if err != nil {
		return Figures{}, err
	}
	return fold(from, to, ps, len(ids) == maxFigured), nil
}

func fold(from, to time.Time, ps []Promise, partial bool) Figures {
	var all tally
	queues, agents := map[string]*tally{}, map[string]*tally{}
	get := func(m map[string]*tally, k string) *tally {
		if m[k] == nil {
			m[k] = &tally{}
		}
		return m[k]
	}
	for _, p := range ps {
		all.add(p)
		get(queues, p.Queue).add(p)
		get(agents, p.AgentID).add(p)
	}
	out := Figures{From: from.UTC(), To: to.UTC(), All: all.figure(), Queues: map[string]Figure{}, Agents: map[string]Figure{}, Partial: partial}
	for k, t := range queues {
		out.Queues[k] = t.figure()
	}
	for k, t := range agents {
		out.Agents[k] = t.figure()
	}
	return out
}
