package stats

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Figures are the supervisor's numbers for one row and one period. Ratios
// are nil when their denominator is zero: no figure rather than a fake 100 %.
// Durations are in milliseconds, for the page.
type Figures struct {
	Offered          int      `json:"offered"` // entered the queue
	Answered         int      `json:"answered"`
	Abandoned        int      `json:"abandoned"`       // short abandons excluded
	ShortAbandoned   int      `json:"short_abandoned"` // shown apart
	ClosedInQueue    int      `json:"closed_in_queue"` // closed by staff before an answer; not abandoned
	ASAms            int64    `json:"asa_ms"`
	ServiceLevel     *float64 `json:"service_level"`
	SLWithAbandons   *float64 `json:"service_level_abandons"`
	AbandonRate      *float64 `json:"abandon_rate"`
	AHTms            int64    `json:"aht_ms"`
	MissedOffers     int      `json:"missed_offers"`   // lapsed unanswered
	DeclinedOffers   int      `json:"declined_offers"` // declined, apart from missed
	EstimateAccuracy *float64 `json:"estimate_accuracy"`
	LongestAnswerMs  int64    `json:"longest_answer_ms"`
}

func ratio(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// FiguresOf computes the figures of summed counts.
func FiguresOf(c Counts) Figures {
	return Figures{
		Offered: c.Entered, Answered: c.Answered, Abandoned: c.Abandoned, ShortAbandoned: c.ShortAbandoned,
		ClosedInQueue: c.ClosedInQueue, ASAms: c.ASA().Milliseconds(), ServiceLevel: ratio(c.ServiceLevel()),
		SLWithAbandons: ratio(c.ServiceLevelWithAbandons()), AbandonRate: ratio(c.AbandonRate()),
		AHTms: c.AHT().Milliseconds(), MissedOffers: c.MissedOffers, DeclinedOffers: c.Declined,
		EstimateAccuracy: ratio(c.EstimateAccuracy()), LongestAnswerMs: c.LongestAnswerWait.Milliseconds(),
	}
}

// WaitingConv is a conversation waiting now, for the force-assign list.
type WaitingConv struct {
	ID         string    `json:"conv"`
	Channel    string    `json:"channel"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	OfferedTo  string    `json:"offered_to,omitempty"`
	// Customer is the customer's name, filled in by the wiring (routing
	// events do not carry names).
	Customer string `json:"customer,omitempty"`
}

// ChannelBoard is one queue's figures on one channel.
type ChannelBoard struct {
	Channel string `json:"channel"`
	Waiting int    `json:"waiting"`
	// OldestSince is the enqueue time of the longest-waiting conversation;
	// the page ticks the longest wait from it. Nil when nobody waits.
	OldestSince *time.Time `json:"oldest_since"`
	Today       Figures    `json:"today"`
	Last15      Figures    `json:"last15"`
}

// ChartPoint is one minute of a queue's wait chart.
type ChartPoint struct {
	Start     time.Time `json:"t"`
	ASAms     int64     `json:"asa_ms"`
	MaxMs     int64     `json:"max_ms"`
	Answered  int       `json:"answered"`
	Abandoned int       `json:"abandoned"`
}

// QueueBoard is one queue: totals, its channels, its chart, who waits.
type QueueBoard struct {
	Queue       string         `json:"queue"`
	ThresholdMs int64          `json:"threshold_ms"`
	Target      float64        `json:"sl_target"`
	ShortMs     int64          `json:"short_abandon_ms"`
	WaitLimitMs int64          `json:"wait_limit_ms"`
	Waiting     int            `json:"waiting"`
	OldestSince *time.Time     `json:"oldest_since"`
	Today       Figures        `json:"today"`
	Last15      Figures        `json:"last15"`
	Channels    []ChannelBoard `json:"channels"`
	Chart       []ChartPoint   `json:"chart"`
	WaitingNow  []WaitingConv  `json:"waiting_now"`
}

// AgentBoard is one agent: live state from routing, today's figures folded.
type AgentBoard struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	State         string         `json:"state"`
	Reason        string         `json:"reason,omitempty"`
	Since         time.Time      `json:"since"`
	Load          map[string]int `json:"load"`
	Capacity      map[string]int `json:"capacity"`
	Conversations []string       `json:"conversations"`
	// Customers names the customer of each conversation, filled in by the
	// wiring (events carry no names).
	Customers    map[string]string `json:"customers,omitempty"`
	Answered     int               `json:"answered_today"`
	Handled      int               `json:"handled_today"`
	AHTms        int64             `json:"aht_ms"`
	MissedOffers int               `json:"missed_offers_today"`
	Declined     int               `json:"declined_offers_today"`
}

// Alert is a promise at risk.
type Alert struct {
	// Key identifies the alert while it lasts ("wait_over_limit:support:chat").
	Key string `json:"key"`
	// Kind is sl_below_target, wait_over_limit or agent_away_missed_offers.
	Kind    string    `json:"kind"`
	Queue   string    `json:"queue,omitempty"`
	Channel string    `json:"channel,omitempty"`
	AgentID string    `json:"agent,omitempty"`
	Since   time.Time `json:"since"`
	Message string    `json:"message"`
}

// Alert kinds.
const (
	AlertSLBelowTarget   = "sl_below_target"
	AlertWaitOverLimit   = "wait_over_limit"
	AlertAwayMissedOffer = "agent_away_missed_offers"
)

// Board is everything the supervisor page shows.
type Board struct {
	At        time.Time `json:"at"`
	TodayFrom time.Time `json:"today_from"`
	// Target and ShortMs are the defaults; each queue carries its own.
	Target      float64      `json:"sl_target"`
	ShortMs     int64        `json:"short_abandon_ms"`
	LastEventID string       `json:"last_event_id"`
	Queues      []QueueBoard `json:"queues"`
	Agents      []AgentBoard `json:"agents"`
	Alerts      []Alert      `json:"alerts"`
}

// maxWaitingListed bounds the waiting list sent per queue.
const maxWaitingListed = 50

// Board computes the page's figures now, reading live agents from the Source.
func (s *Service) Board(ctx context.Context) (Board, error) {
	agents, err := s.cfg.Source.Agents(ctx)
	if err != nil {
		return Board{}, fmt.Errorf("stats: agents: %w", err)
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boardLocked(now)
	today := s.folder.AgentSum(s.today(now), now.Add(time.Minute))
	sort.Slice(agents, func(i, j int) bool { return agents[i].ID < agents[j].ID })
	for _, a := range agents {
		c := today[a.ID]
		b.Agents = append(b.Agents, AgentBoard{
			ID: a.ID, Name: a.Name, State: a.State, Reason: a.Reason, Since: a.Since,
			Load: a.Load, Capacity: a.Capacity, Conversations: a.Conversations,
			Answered: c.Answered, Handled: c.Handled, AHTms: c.AHT().Milliseconds(), MissedOffers: c.MissedOffers,
			Declined: c.Declined,
		})
	}
	return b, nil
}

// Figures computes the queue figures alone (no agents): what metrics and
// the two-gateway comparison need.
func (s *Service) Figures() Board {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.boardLocked(now)
}

func (s *Service) boardLocked(now time.Time) Board {
	day := s.today(now)
	end := now.Add(time.Minute) // the current interval counts
	today := s.folder.Sum(day, end, "", "")
	last15 := s.folder.Sum(now.Add(-15*time.Minute), end, "", "")
	waiting := s.folder.Waiting()

	// Rows: configured queues and channels first, then any seen.
	order := []string{}
	chans := map[string]map[string]bool{}
	add := func(q, ch string) {
		if chans[q] == nil {
			chans[q] = map[string]bool{}
			order = append(order, q)
		}
		if ch != "" {
			chans[q][ch] = true
		}
	}
	for _, q := range s.cfg.Queues {
		add(q.Name, "")
		for _, ch := range q.Channels {
			add(q.Name, ch)
		}
	}
	for k := range today {
		add(k.Queue, k.Channel)
	}
	for k := range last15 {
		add(k.Queue, k.Channel)
	}
	for _, w := range waiting {
		add(w.Key.Queue, w.Key.Channel)
	}
	known := len(s.cfg.Queues)
	sort.Strings(order[known:])

	b := Board{At: now, TodayFrom: day, Target: s.cfg.Target, ShortMs: s.cfg.ShortAbandon.Milliseconds(),
		LastEventID: s.lastID, Queues: []QueueBoard{}, Agents: []AgentBoard{}, Alerts: []Alert{}}
	chart := s.folder.Series(now.Add(-59*time.Minute), end, time.Minute, "")
	for _, q := range order {
		th := s.thresholds(q)
		qb := QueueBoard{Queue: q, ThresholdMs: th.ServiceLevel.Milliseconds(), WaitLimitMs: s.queues[q].WaitLimit.Milliseconds(),
			Target: s.target(q), ShortMs: th.ShortAbandon.Milliseconds(),
			Channels: []ChannelBoard{}, Chart: []ChartPoint{}, WaitingNow: []WaitingConv{}}
		var qt, q15 Counts
		names := make([]string, 0, len(chans[q]))
		for ch := range chans[q] {
			names = append(names, ch)
		}
		sort.Strings(names)
		for _, ch := range names {
			k := Key{Queue: q, Channel: ch}
			cb := ChannelBoard{Channel: ch, Today: FiguresOf(today[k]), Last15: FiguresOf(last15[k])}
			qt.Add(today[k])
			q15.Add(last15[k])
			for _, w := range waiting {
				if w.Key == k {
					cb.Waiting++
					if cb.OldestSince == nil {
						t := w.EnqueuedAt
						cb.OldestSince = &t
					}
				}
			}
			qb.Channels = append(qb.Channels, cb)
		}
		for _, w := range waiting {
			if w.Key.Queue != q {
				continue
			}
			qb.Waiting++
			if qb.OldestSince == nil {
				t := w.EnqueuedAt
				qb.OldestSince = &t
			}
			if len(qb.WaitingNow) < maxWaitingListed {
				qb.WaitingNow = append(qb.WaitingNow, WaitingConv{ID: w.ConversationID, Channel: w.Key.Channel,
					EnqueuedAt: w.EnqueuedAt, OfferedTo: w.OfferedTo})
			}
		}
		qb.Today, qb.Last15 = FiguresOf(qt), FiguresOf(q15)
		// Minute points, summed over the queue's channels.
		// Keyed by instant: rows start in the workspace zone, the minutes
		// below in the clock's, and time.Time keys with different
		// locations never match (the chart then had no bars).
		points := map[int64]*Counts{}
		for _, r := range chart {
			if r.Key.Queue != q {
				continue
			}
			k := r.Start.UnixNano()
			if points[k] == nil {
				points[k] = &Counts{}
			}
			points[k].Add(r.Counts)
		}
		for m := now.Add(-59 * time.Minute).Truncate(time.Minute); !m.After(now); m = m.Add(time.Minute) {
			p := ChartPoint{Start: m}
			if c := points[m.UnixNano()]; c != nil {
				p.ASAms, p.MaxMs, p.Answered, p.Abandoned = c.ASA().Milliseconds(), c.LongestAnswerWait.Milliseconds(), c.Answered, c.Abandoned
			}
			qb.Chart = append(qb.Chart, p)
		}
		b.Queues = append(b.Queues, qb)
	}
	for _, a := range s.alerts {
		b.Alerts = append(b.Alerts, a)
	}
	sort.Slice(b.Alerts, func(i, j int) bool { return b.Alerts[i].Key < b.Alerts[j].Key })
	return b
}

// evaluateLocked recomputes the alerts and returns what changed.
func (s *Service) evaluateLocked(now time.Time) (raised, cleared []Alert) {
	want := map[string]Alert{}
	day := s.today(now)
	for k, c := range s.folder.Sum(day, now.Add(time.Minute), "", "") {
		if sl, ok := c.ServiceLevel(); ok && sl < s.target(k.Queue) {
			key := AlertSLBelowTarget + ":" + k.Queue + ":" + k.Channel
			want[key] = Alert{Key: key, Kind: AlertSLBelowTarget, Queue: k.Queue, Channel: k.Channel, Since: now,
				Message: fmt.Sprintf("Service level %.0f %% is below the %.0f %% target", sl*100, s.target(k.Queue)*100)}
		}
	}
	for _, w := range s.folder.Waiting() {
		limit := s.queues[w.Key.Queue].WaitLimit
		if limit <= 0 || now.Sub(w.EnqueuedAt) <= limit {
			continue
		}
		key := AlertWaitOverLimit + ":" + w.Key.Queue + ":" + w.Key.Channel
		if _, dup := want[key]; dup {
			continue // the longest wait comes first
		}
		want[key] = Alert{Key: key, Kind: AlertWaitOverLimit, Queue: w.Key.Queue, Channel: w.Key.Channel,
			Since: w.EnqueuedAt.Add(limit), Message: fmt.Sprintf("A customer has waited over %s", limit)}
	}
	for id, t := range s.folder.AwayByMissedOffers() {
		key := AlertAwayMissedOffer + ":" + id
		want[key] = Alert{Key: key, Kind: AlertAwayMissedOffer, AgentID: id, Since: t,
			Message: "Set away after missing offers"}
	}
	for k, a := range want {
		if old, ok := s.alerts[k]; ok {
			a.Since = old.Since // an alert keeps the time it was raised
			s.alerts[k] = a
			continue
		}
		s.alerts[k] = a
		raised = append(raised, a)
	}
	for k, a := range s.alerts {
		if _, ok := want[k]; !ok {
			delete(s.alerts, k)
			cleared = append(cleared, a)
		}
	}
	return raised, cleared
}
