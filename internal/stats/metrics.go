package stats

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics exports the supervisor figures to Prometheus: gauges computed
// from the fold at scrape time (so they equal the page's numbers) and a
// histogram of answer waits fed as answers are folded. Every gateway
// exports the same values; aggregate with max(), not sum().
type Metrics struct {
	svc   *Service
	waits *prometheus.HistogramVec
	descs map[string]*prometheus.Desc
}

// NewMetrics returns the collector for svc. Pass its ObserveAnswer as
// Config.OnAnswer (the wiring does), then register it.
func NewMetrics() *Metrics {
	m := &Metrics{
		waits: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_answer_wait_seconds",
			Help:    "Wait from entering the queue to an agent accepting, per answered conversation.",
			Buckets: []float64{1, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600},
		}, []string{"queue", "channel"}),
		descs: map[string]*prometheus.Desc{},
	}
	lbl := []string{"queue", "channel"}
	for name, help := range map[string]string{
		"waiting":                      "Conversations waiting now.",
		"longest_wait_seconds":         "Longest current wait.",
		"offered_today":                "Conversations that entered the queue today (the workspace time zone).",
		"answered_today":               "Conversations answered today.",
		"abandoned_today":              "Conversations abandoned today, short abandons excluded.",
		"short_abandoned_today":        "Conversations abandoned today before the short-abandon threshold.",
		"missed_offers_today":          "Offers that lapsed unanswered today.",
		"declined_offers_today":        "Offers agents declined today.",
		"asa_today_seconds":            "Average speed of answer today.",
		"aht_today_seconds":            "Average handle time today.",
		"service_level_today":          "Answered within the threshold over answered, today.",
		"service_level_abandons_today": "(Answered + abandoned within the threshold) over (answered + abandoned), today.",
		"abandon_rate_today":           "Abandoned over entered, today.",
		"estimate_accuracy_today":      "Answered within the wait we told them over those told, today.",
	} {
		m.descs[name] = prometheus.NewDesc("switchboard_queue_"+name, help, lbl, nil)
	}
	m.descs["alerts"] = prometheus.NewDesc("switchboard_supervisor_alerts", "Alerts active now, by kind.", []string{"kind"}, nil)
	return m
}

// Attach binds the collector to the service whose figures it exports.
func (m *Metrics) Attach(s *Service) { m.svc = s }

// ObserveAnswer records one answer's wait in the histogram.
func (m *Metrics) ObserveAnswer(k Key, wait time.Duration) {
	m.waits.WithLabelValues(k.Queue, k.Channel).Observe(wait.Seconds())
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.descs {
		ch <- d
	}
	m.waits.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.waits.Collect(ch)
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
