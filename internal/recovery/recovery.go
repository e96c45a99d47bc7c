// Package recovery is service recovery: a customer who rated a
// conversation badly (or, later, saw a promise broken) is tagged
// `recovery` for a configurable number of days; supervisors get a live
// alert; their next contact on any channel is boosted and goes to their
// last agent if available, else to agents with the `recovery` skill
// (routing's per-queue recovery_boost and preference; the desk's Router
// asks Active); the console shows a banner, and the agent records what
// was done. The recovery rate (a tagged customer's next rating is 4 or 5)
// is counted.
//
// Anything may raise a case through Raise(ctx, customerID, Reason): a
// rating does through Rated (survey.Rater), a broken promise can.
package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/survey"
)

// Tag is the customer tag of a recovery case, and Skill the agent skill
// preferred for recovery contacts when the last agent is not available.
const (
	Tag   = "recovery"
	Skill = "recovery"
)

// Reasons a case is raised.
const (
	ReasonRating  = "rating"
	ReasonPromise = "broken_promise"
	// ReasonMissedCallback: a callback the customer was promised reached
	// nobody after all its attempts.
	ReasonMissedCallback = "missed_callback"
)

// Config is the `recovery:` section of the configuration file.
type Config struct {
	// Threshold: a rating at or below it raises a case; 0 means 2, and a
	// negative value turns rating-raised cases off.
	Threshold int `yaml:"threshold"`
	// Days a customer stays tagged; 0 means 7.
	Days int `yaml:"days"`
}

func (c Config) threshold() int {
	if c.Threshold == 0 {
		return 2
	}
	return c.Threshold
}

func (c Config) days() time.Duration {
	if c.Days <= 0 {
		return 7 * 24 * time.Hour
	}
	return time.Duration(c.Days) * 24 * time.Hour
}

// Reason is why a case was raised.
type Reason struct {
	// Kind is ReasonRating or ReasonPromise.
	Kind           string `json:"kind"`
	ConversationID string `json:"conversation_id"`
	AgentID        string `json:"agent_id,omitempty"`
	Queue          string `json:"queue,omitempty"`
	Channel        string `json:"channel,omitempty"`
	Score          int    `json:"score,omitempty"`
	Comment        string `json:"comment,omitempty"`
	// Text says what happened in words, for a broken promise ("call back
	// about the refund by Thu 15:00").
	Text string    `json:"text,omitempty"`
	At   time.Time `json:"at"`
}

// Case is a customer's open recovery case.
type Case struct {
	CustomerID string `json:"customer_id"`
	Reason
	Until time.Time `json:"until"`
	// Note is what the agent did, once recorded.
	Note    string    `json:"note,omitempty"`
	NotedBy string    `json:"noted_by,omitempty"`
	NotedAt time.Time `json:"noted_at,omitzero"`
}

// Alert is what supervisors see live when a case is raised.
type Alert struct {
	Kind       string `json:"kind"` // "recovery"
	CustomerID string `json:"customer_id"`
	Reason
	Message string `json:"message"`
}

// Alerter tells supervisors on every gateway (agentui's Publisher).
type Alerter interface {
	RecoveryAlert(ctx context.Context, a Alert)
}

// Tagger adds and removes a customer tag (the conversation service).
type Tagger interface {
	Tag(ctx context.Context, customerID, tag string, on bool) error
}

// Params build a Service; Redis and Workspace are required.
type Params struct {
	Redis     redis.UniversalClient
	Workspace string
	Config    Config
	Alerts    Alerter
	Tags      Tagger
	Now       func() time.Time
	Logger    *slog.Logger
}

// Service keeps recovery cases.
type Service struct {
	p   Params
	log *slog.Logger
	m   *Metrics
}

// New builds a Service.
func New(p Params) (*Service, error) {
	if p.Redis == nil || p.Workspace == "" {
		return nil, errors.New("recovery: Params.Redis and Workspace are required")
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{p: p, log: log, m: NewMetrics()}, nil
}

// Keys:
//
//	sb:{ws}:recovery:c:<customer> hash        the open case; expires with it
//	sb:{ws}:recovery:due          sorted set  customers by case end, to take the tag off
//	sb:{ws}:recovery:fig          hash        raised|<kind>, rated, recovered
func (s *Service) key(cust string) string { return "sb:{" + s.p.Workspace + "}:recovery:c:" + cust }
func (s *Service) due() string            { return "sb:{" + s.p.Workspace + "}:recovery:due" }
func (s *Service) fig() string            { return "sb:{" + s.p.Workspace + "}:recovery:fig" }

// SetTags sets the tagger once the conversation service exists (it is
// built on the routing adapter that asks Active); call before serving.
func (s *Service) SetTags(t Tagger) { s.p.Tags = t }

// Raise opens (or replaces) customerID's case: tagged for the configured
// days, an alert to supervisors, a boost on the next contact.
func (s *Service) Raise(ctx context.Context, customerID string, r Reason) error {
	if customerID == "" {
		return errors.New("recovery: raise: no customer")
	}
	if r.At.IsZero() {
		r.At = s.p.Now()
	}
	until := r.At.Add(s.p.Config.days())
	k := s.key(customerID)
	pipe := s.p.Redis.TxPipeline()
	pipe.Del(ctx, k)
	pipe.HSet(ctx, k, "kind", r.Kind, "conv", r.ConversationID, "agent", r.AgentID, "queue", r.Queue,
		"channel", r.Channel, "score", r.Score, "comment", r.Comment, "text", r.Text,
		"at", r.At.UnixMilli(), "until", until.UnixMilli())
	pipe.PExpireAt(ctx, k, until)
	pipe.ZAdd(ctx, s.due(), redis.Z{Score: float64(until.UnixMilli()), Member: customerID})
	pipe.HIncrBy(ctx, s.fig(), "raised|"+r.Kind, 1)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("recovery: raise for %s: %w", customerID, err)
	}
	s.m.raised.WithLabelValues(r.Kind).Inc()
	if s.p.Tags != nil {
		if err := s.p.Tags.Tag(ctx, customerID, Tag, true); err != nil {
			s.log.Warn("recovery: tag customer", "customer", customerID, "err", err)
		}
	}
	if s.p.Alerts != nil {
		s.p.Alerts.RecoveryAlert(ctx, Alert{Kind: "recovery", CustomerID: customerID, Reason: r, Message: message(r)})
	}
	return nil
}

// message is the alert in words.
func message(r Reason) string {
	var m string
	switch r.Kind {
	case ReasonRating:
		m = fmt.Sprintf("Customer rated %d/5", r.Score)
		if r.Channel != "" {
			m += " on " + r.Channel
		}
		if r.AgentID != "" {
			m += " (agent " + r.AgentID + ")"
		}
		if r.Comment != "" {
			m += ": " + r.Comment
		}
	case ReasonPromise:
		m = "Promise broken"
		if r.Text != "" {
			m += ": " + r.Text
		}
	case ReasonMissedCallback:
		m = "Callback missed"
		if r.Text != "" {
			m += ": " + r.Text
		}
	default:
		m = "Service recovery: " + r.Kind
	}
	return m
}

// Rated implements survey.Rater: a rating from a customer with an open
// case (of an earlier conversation) counts towards the recovery rate and,
// when 4 or 5, closes the case; a rating at or below the threshold raises
// a new one.
func (s *Service) Rated(ctx context.Context, r survey.Rating) error {
	c, open, err := s.Active(ctx, r.CustomerID)
	if err != nil {
		return err
	}
	if open && c.ConversationID != r.ConversationID {
		pipe := s.p.Redis.TxPipeline()
		pipe.HIncrBy(ctx, s.fig(), "rated", 1)
		outcome := "not_recovered"
		if r.Score >= survey.GoodScore {
			outcome = "recovered"
			pipe.HIncrBy(ctx, s.fig(), "recovered", 1)
			pipe.Del(ctx, s.key(r.CustomerID))
			pipe.ZRem(ctx, s.due(), r.CustomerID)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("recovery: count rating of %s: %w", r.CustomerID, err)
		}
		s.m.outcomes.WithLabelValues(outcome).Inc()
		if outcome == "recovered" && s.p.Tags != nil {
			if err := s.p.Tags.Tag(ctx, r.CustomerID, Tag, false); err != nil {
				s.log.Warn("recovery: untag customer", "customer", r.CustomerID, "err", err)
			}
		}
	}
	if t := s.p.Config.threshold(); t > 0 && r.Score <= t {
		return s.Raise(ctx, r.CustomerID, Reason{Kind: ReasonRating, ConversationID: r.ConversationID, AgentID: r.AgentID,
			Queue: r.Queue, Channel: r.Channel, Score: r.Score, Comment: r.Comment, At: r.At})
	}
	return nil
}

var _ survey.Rater = (*Service)(nil)

// Active returns customerID's open case; false when there is none.
func (s *Service) Active(ctx context.Context, customerID string) (Case, bool, error) {
	if customerID == "" {
		return Case{}, false, nil
	}
	h, err := s.p.Redis.HGetAll(ctx, s.key(customerID)).Result()
	if err != nil {
		return Case{}, false, fmt.Errorf("recovery: case of %s: %w", customerID, err)
	}
	if len(h) == 0 {
		return Case{}, false, nil
	}
	score, _ := strconv.Atoi(h["score"])
	return Case{CustomerID: customerID, Reason: Reason{Kind: h["kind"], ConversationID: h["conv"], AgentID: h["agent"],
		Queue: h["queue"], Channel: h["channel"], Score: score, Comment: h["comment"], Text: h["text"], At: fromMS(h["at"])},
		Until: fromMS(h["until"]), Note: h["note"], NotedBy: h["noted_by"], NotedAt: fromMS(h["noted_at"])}, true, nil
}

// ErrNoCase: the customer has no open case.
var ErrNoCase = errors.New("recovery: no open case")

// Note records what agentID did about customerID's case. The case stays
// open (the customer's next rating measures whether it worked).
func (s *Service) Note(ctx context.Context, customerID, agentID, text string) (Case, error) {
	if text == "" || len(text) > 2000 {
		return Case{}, errors.New("recovery: note: 1 to 2000 characters")
	}
	n, err := s.p.Redis.Exists(ctx, s.key(customerID)).Result()
	if err != nil {
		return Case{}, fmt.Errorf("recovery: note for %s: %w", customerID, err)
	}
	if n == 0 {
		return Case{}, ErrNoCase
	}
	if err := s.p.Redis.HSet(ctx, s.key(customerID), "note", text, "noted_by", agentID, "noted_at", s.p.Now().UnixMilli()).Err(); err != nil {
		return Case{}, fmt.Errorf("recovery: note for %s: %w", customerID, err)
	}
	c, _, err := s.Active(ctx, customerID)
	return c, err
}

// Run takes the tag off customers whose case ended, until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		if err := s.Expire(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("recovery: expire", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Expire takes the tag off customers whose case ended. ZREM decides which
// gateway does it.
func (s *Service) Expire(ctx context.Context) error {
	ids, err := s.p.Redis.ZRangeByScore(ctx, s.due(), &redis.ZRangeBy{Min: "-inf",
		Max: strconv.FormatInt(s.p.Now().UnixMilli(), 10), Count: 100}).Result()
	if err != nil {
		return fmt.Errorf("recovery: due: %w", err)
	}
	for _, id := range ids {
		n, err := s.p.Redis.ZRem(ctx, s.due(), id).Result()
		if err != nil || n == 0 {
			continue
		}
		if s.p.Tags != nil {
			if err := s.p.Tags.Tag(ctx, id, Tag, false); err != nil {
				s.log.Warn("recovery: untag customer", "customer", id, "err", err)
			}
		}
	}
	return nil
}

// Figures are the recovery counts since the start.
type Figures struct {
	Raised map[string]int `json:"raised"`
	// Rated counts ratings from customers with an open case (of an
	// earlier conversation); Recovered those of 4 or 5.
	Rated     int `json:"rated"`
	Recovered int `json:"recovered"`
	// Rate is Recovered ÷ Rated; null before any.
	Rate *float64 `json:"rate"`
}

// Figures reads the recovery counts.
func (s *Service) Figures(ctx context.Context) (Figures, error) {
	h, err := s.p.Redis.HGetAll(ctx, s.fig()).Result()
	if err != nil {
		return Figures{}, fmt.Errorf("recovery: figures: %w", err)
	}
	f := Figures{Raised: map[string]int{}}
	for k, v := range h {
		n, _ := strconv.Atoi(v)
		switch {
		case k == "rated":
			f.Rated = n
		case k == "recovered":
			f.Recovered = n
		case len(k) > 7 && k[:7] == "raised|":
			f.Raised[k[7:]] = n
		}
	}
	if f.Rated > 0 {
		r := float64(f.Recovered) / float64(f.Rated)
		f.Rate = &r
	}
	return f, nil
}

// Metrics are the recovery series.
type Metrics struct {
	raised   *prometheus.CounterVec
	outcomes *prometheus.CounterVec
}

// NewMetrics builds unregistered series.
func NewMetrics() *Metrics {
	return &Metrics{
		raised: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_recovery_cases_total",
			Help: "Service recovery cases raised, by reason (rating, broken_promise)."}, []string{"reason"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_recovery_ratings_total",
			Help: "Next ratings of customers in recovery, by outcome (recovered: 4 or 5)."}, []string{"outcome"}),
	}
}

// Metrics are the service's Prometheus series.
func (s *Service) Metrics() *Metrics { return s.m }

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.raised.Describe(ch)
	m.outcomes.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) { m.raised.Collect(ch); m.outcomes.Collect(ch) }

func fromMS(v string) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}
