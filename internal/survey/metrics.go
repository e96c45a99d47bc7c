package survey

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the survey series. Each sent survey and each rating is
// counted once, on the gateway that recorded it; sum over instances.
//
// CSAT over a range: sum(rate(switchboard_survey_ratings_total{score=~"4|5"}[1h]))
// / sum(rate(switchboard_survey_ratings_total[1h])); response rate:
// ratings ÷ switchboard_surveys_sent_total.
type Metrics struct {
	sent    *prometheus.CounterVec
	ratings *prometheus.CounterVec
}

// NewMetrics builds unregistered series.
func NewMetrics() *Metrics {
	return &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_surveys_sent_total",
			Help: "Satisfaction surveys sent, by queue and conversation channel."}, []string{"queue", "channel"}),
		ratings: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_survey_ratings_total",
			Help: "Survey ratings received, by queue, conversation channel, agent and score 1-5."}, []string{"queue", "channel", "agent", "score"}),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.sent.Describe(ch)
	m.ratings.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.sent.Collect(ch)
	m.ratings.Collect(ch)
}
