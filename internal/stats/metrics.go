package stats

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ConsumerLag is one event-consumer group's backlog (routing's consumer
// groups, adapted by the wiring).
type ConsumerLag struct {
	Group string
	// Lag counts events not yet handed to the group; -1 if unknown.
	Lag int64
	// Pending counts events handed out but not acknowledged.
	Pending int64
}

// Metrics exports the supervisor figures to Prometheus: gauges computed
// from the fold at scrape time (so they equal the page's numbers; they
// reset at midnight UTC), and counters and histograms fed as events are
// folded, from zero when the gateway starts, for rate() and
// histogram_quantile(). Every gateway folds the same stream and exports
// the same values: aggregate gauges with max() and counters with
// max(rate(...)) over instances, never sum().
type Metrics struct {
	svc  *Service
	lags func(context.Context) ([]ConsumerLag, error)

	offered, answered, abandoned, closedInQueue *prometheus.CounterVec
	waits, offerWaits, handles                  *prometheus.HistogramVec

	descs map[string]*prometheus.Desc
}

// waitBuckets cover service-level thresholds (20 s, 30 s …) exactly, so
// the share answered within one is a bucket over the count.
var waitBuckets = []float64{1, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600}

// NewMetrics returns the collector. Pass its Observe as Config.Observe
// (the wiring does), Attach the service, then register it.
func NewMetrics() *Metrics {
	lbl := []string{"queue", "channel"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, lbl)
	}
	hist := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, lbl)
	}
	m := &Metrics{
		offered: counter("switchboard_contacts_offered_total",
			"Contacts that entered the queue (new, or transferred in from another queue), since the gateway started."),
		answered: counter("switchboard_contacts_answered_total",
			"Contacts an agent accepted, counted once per queue entry, since the gateway started."),
		abandoned: counter("switchboard_contacts_abandoned_total",
			"Contacts whose customer left while waiting, short abandons included, since the gateway started."),
		closedInQueue: counter("switchboard_contacts_closed_in_queue_total",
			"Contacts staff closed while they waited (spam, duplicates), not abandons, since the gateway started."),
		waits: hist("switchboard_answer_wait_seconds",
			"Wait from entering the queue to an agent accepting, per answered contact.", waitBuckets),
		offerWaits: hist("switchboard_offer_wait_seconds",
			"Wait from entering the queue to the first offer to an agent: how long routing found nobody.",
			[]float64{.005, .01, .05, .1, .5, 1, 5, 10, 20, 30, 60, 120, 300, 600}),
		handles: hist("switchboard_handle_seconds",
			"Handle time from accept to close, per closed contact.",
			[]float64{30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 14400}),
		descs: map[string]*prometheus.Desc{},
	}
	for name, help := range map[string]string{
		"waiting":                      "Conversations waiting now.",
		"longest_wait_seconds":         "Longest current wait.",
		"offered_today":                "Conversations that entered the queue today (the workspace time zone).",
		"answered_today":               "Conversations answered today.",
		"abandoned_today":              "Conversations abandoned today, short abandons excluded.",
		"short_abandoned_today":        "Conversations abandoned today before the short-abandon threshold.",
		"closed_in_queue_today":        "Conversations staff closed today before anyone answered (not abandons).",
		"missed_offers_today":          "Offers that lapsed unanswered today.",
		"declined_offers_today":        "Offers agents declined today.",
		"asa_today_seconds":            "Average speed of answer today.",
		"aht_today_seconds":            "Average handle time today.",
		"service_level_today":          "Answered within the threshold over answered, today.",
		"service_level_abandons_today": "(Answered + abandoned within the threshold) over (answered + abandoned), today.",
		"abandon_rate_today":           "Abandoned over entered (less those staff closed in the queue), today.",
		"estimate_accuracy_today":      "Answered within the wait we told them over those told, today.",
	} {
		m.descs[name] = prometheus.NewDesc("switchboard_queue_"+name, help, lbl, nil)
	}
	m.descs["consumer_lag"] = prometheus.NewDesc("switchboard_event_consumer_lag",
		"Routing events not yet handed to the consumer group (read from Redis at scrape time).", []string{"group"}, nil)
	m.descs["consumer_pending"] = prometheus.NewDesc("switchboard_event_consumer_pending",
		"Routing events handed to the consumer group but not yet acknowledged.", []string{"group"}, nil)
	m.descs["alerts"] = prometheus.NewDesc("switchboard_supervisor_alerts", "Alerts active now, by kind.", []string{"kind"}, nil)
	return m
}

// SetConsumerLags sets where consumer groups' backlog is read at scrape
// time; nil exports none.
func (m *Metrics) SetConsumerLags(f func(context.Context) ([]ConsumerLag, error)) { m.lags = f }

// lagTimeout bounds the Redis read a scrape makes.
const lagTimeout = 2 * time.Second

// Attach binds the collector to the service whose figures it exports.
func (m *Metrics) Attach(s *Service) { m.svc = s }

// Observe counts one observation; it is Config.Observe.
func (m *Metrics) Observe(o Observation) {
	q, c, d := o.Key.Queue, o.Key.Channel, o.Duration.Seconds()
	switch o.Kind {
	case ObsEntered:
		m.offered.WithLabelValues(q, c).Inc()
	case ObsOffered:
		m.offerWaits.WithLabelValues(q, c).Observe(d)
	case ObsAnswered:
		m.answered.WithLabelValues(q, c).Inc()
		m.waits.WithLabelValues(q, c).Observe(d)
	case ObsAbandoned:
		m.abandoned.WithLabelValues(q, c).Inc()
	case ObsClosedInQueue:
		m.closedInQueue.WithLabelValues(q, c).Inc()
	case ObsClosed:
		m.handles.WithLabelValues(q, c).Observe(d)
	}
}

func (m *Metrics) vectors() []prometheus.Collector {
	return []prometheus.Collector{m.offered, m.answered, m.abandoned, m.closedInQueue, m.waits, m.offerWaits, m.handles}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.descs {
		ch <- d
	}
	for _, v := range m.vectors() {
		v.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, v := range m.vectors() {
		v.Collect(ch)
	}
	if m.lags != nil {
		ctx, cancel := context.WithTimeout(context.Background(), lagTimeout)
		lags, err := m.lags(ctx)
		cancel()
		if err == nil { // a failed read shows as a gap, and /readyz tells why
			for _, l := range lags {
				ch <- prometheus.MustNewConstMetric(m.descs["consumer_lag"], prometheus.GaugeValue, float64(l.Lag), l.Group)
				ch <- prometheus.MustNewConstMetric(m.descs["consumer_pending"], prometheus.GaugeValue, float64(l.Pending), l.Group)
			}
		}
	}
	if m.svc == nil {
		return
	}
	b := m.svc.Figures()
	g := func(name string, v float64, q, c string) {
		ch <- prometheus.MustNewConstMetric(m.descs[name], prometheus.GaugeValue, v, q, c)
	}
	opt := func(name string, v *float64, q, c string) {
		if v != nil {
			g(name, *v, q, c)
		}
	}
	for _, q := range b.Queues {
		for _, c := range q.Channels {
			longest := 0.0
			if c.OldestSince != nil {
				longest = b.At.Sub(*c.OldestSince).Seconds()
			}
			t := c.Today
			g("waiting", float64(c.Waiting), q.Queue, c.Channel)
			g("longest_wait_seconds", longest, q.Queue, c.Channel)
			g("offered_today", float64(t.Offered), q.Queue, c.Channel)
			g("answered_today", float64(t.Answered), q.Queue, c.Channel)
			g("abandoned_today", float64(t.Abandoned), q.Queue, c.Channel)
			g("short_abandoned_today", float64(t.ShortAbandoned), q.Queue, c.Channel)
			g("closed_in_queue_today", float64(t.ClosedInQueue), q.Queue, c.Channel)
			g("missed_offers_today", float64(t.MissedOffers), q.Queue, c.Channel)
			g("declined_offers_today", float64(t.DeclinedOffers), q.Queue, c.Channel)
			g("asa_today_seconds", float64(t.ASAms)/1000, q.Queue, c.Channel)
			g("aht_today_seconds", float64(t.AHTms)/1000, q.Queue, c.Channel)
			opt("service_level_today", t.ServiceLevel, q.Queue, c.Channel)
			opt("service_level_abandons_today", t.SLWithAbandons, q.Queue, c.Channel)
			opt("abandon_rate_today", t.AbandonRate, q.Queue, c.Channel)
			opt("estimate_accuracy_today", t.EstimateAccuracy, q.Queue, c.Channel)
		}
	}
	kinds := map[string]int{AlertSLBelowTarget: 0, AlertWaitOverLimit: 0, AlertAwayMissedOffer: 0}
	for _, a := range b.Alerts {
		kinds[a.Kind]++
	}
	for k, n := range kinds {
		ch <- prometheus.MustNewConstMetric(m.descs["alerts"], prometheus.GaugeValue, float64(n), k)
	}
}
