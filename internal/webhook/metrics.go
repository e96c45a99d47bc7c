package webhook

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the delivery series on /metrics: attempts by endpoint and
// result, latency, and each endpoint's backlog.
type Metrics struct {
	svc       *Service
	attempts  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	backlogDs *prometheus.Desc
}

// NewMetrics makes the collectors; pass Observe as Params.OnOutcome and
// Attach the service once built.
func NewMetrics() *Metrics {
	return &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_deliveries_total",
			Help: "Webhook delivery attempts by endpoint and result (delivered, retry, failed, dead).",
		}, []string{"endpoint", "result", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_webhook_delivery_seconds",
			Help:    "Time from sending a webhook to its response.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint"}),
		backlogDs: prometheus.NewDesc("switchboard_webhook_backlog",
			"Ordering lines with a delivery waiting, per endpoint.", []string{"endpoint"}, nil),
	}
}

// Attach gives the metrics the service whose backlog they report.
func (m *Metrics) Attach(s *Service) { m.svc = s }

// Observe counts one attempt.
func (m *Metrics) Observe(o Outcome) {
	m.attempts.WithLabelValues(o.Endpoint, o.Result, strconv.Itoa(o.Status)).Inc()
	if o.Status > 0 {
		m.latency.WithLabelValues(o.Endpoint).Observe(o.Latency.Seconds())
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.attempts.Describe(ch)
	m.latency.Describe(ch)
	ch <- m.backlogDs
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.attempts.Collect(ch)
	m.latency.Collect(ch)
	if m.svc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	backlog, err := m.svc.Backlog(ctx)
	if err != nil {
		return
	}
	for ep, n := range backlog {
		ch <- prometheus.MustNewConstMetric(m.backlogDs, prometheus.GaugeValue, float64(n), ep)
	}
}
