package promise

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricsWindow is the period the Prometheus figures cover: the promises
// resolved in the last day, recomputed at each scrape.
const MetricsWindow = 24 * time.Hour

// Metrics exports the promise figures to Prometheus, per queue and per
// agent (label scope "queue" or "agent", name the queue or agent id).
type Metrics struct {
	svc                    *Service
	ratio, lateness, count *prometheus.Desc
}

// NewMetrics returns a collector of s's figures; register it once.
func NewMetrics(s *Service) *Metrics {
	return &Metrics{
		svc: s,
		ratio: prometheus.NewDesc("switchboard_promises_kept_on_time_ratio",
			"Promises kept by their due time ÷ promises resolved (kept, late or broken) in the last 24 h.",
			[]string{"scope", "name"}, nil),
		lateness: prometheus.NewDesc("switchboard_promises_lateness_median_seconds",
			"Median of how late the promises kept late in the last 24 h were.", []string{"scope", "name"}, nil),
		count: prometheus.NewDesc("switchboard_promises_resolved",
			"Promises resolved in the last 24 h by outcome (kept, late, broken).", []string{"scope", "name", "outcome"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.ratio
	ch <- m.lateness
	ch <- m.count
}

// Collect implements prometheus.Collector. A scrape has no context of its
// own; the read is bounded by a short timeout instead.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	now := m.svc.p.Now()
	// Figures' end is exclusive: one millisecond past now counts what was
	// resolved this instant.
	f, err := m.svc.Figures(ctx, now.Add(-MetricsWindow), now.Add(time.Millisecond))
	if err != nil {
		m.svc.log.Warn("promise: metrics", "err", err)
		return
	}
	emit := func(scope string, figs map[string]Figure) {
		for name, fg := range figs {
			if fg.KeptOnTime != nil {
				ch <- prometheus.MustNewConstMetric(m.ratio, prometheus.GaugeValue, *fg.KeptOnTime, scope, name)
			}
			if fg.MedianLatenessSeconds != nil {
				ch <- prometheus.MustNewConstMetric(m.lateness, prometheus.GaugeValue, *fg.MedianLatenessSeconds, scope, name)
			}
			ch <- prometheus.MustNewConstMetric(m.count, prometheus.GaugeValue, float64(fg.Kept), scope, name, string(Kept))
			ch <- prometheus.MustNewConstMetric(m.count, prometheus.GaugeValue, float64(fg.Late), scope, name, string(Late))
			ch <- prometheus.MustNewConstMetric(m.count, prometheus.GaugeValue, float64(fg.Broken), scope, name, string(Broken))
		}
	}
	emit("queue", f.Queues)
	emit("agent", f.Agents)
}
