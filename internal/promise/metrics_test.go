package promise

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetricsPerQueueAndAgent(t *testing.T) {
	t.Parallel()
	s, c := newService(t, Params{})
	ctx := context.Background()
	start := c.Now()
	for i, after := range []time.Duration{-time.Minute, 2 * time.Minute} { // kept, late 120 s
		c.t = start
		p, err := s.Make(ctx, Request{ConversationID: "cv", AgentID: "ana", Queue: "support", What: "call back", Due: start.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		c.t = start.Add(time.Hour + after)
		if _, err := s.Keep(ctx, p.ID, ViaCall); err != nil {
			t.Fatal(i, err)
		}
	}
	want := `
# HELP switchboard_promises_kept_on_time_ratio Promises kept by their due time ÷ promises resolved (kept, late or broken) in the last 24 h.
# TYPE switchboard_promises_kept_on_time_ratio gauge
switchboard_promises_kept_on_time_ratio{name="ana",scope="agent"} 0.5
switchboard_promises_kept_on_time_ratio{name="support",scope="queue"} 0.5
# HELP switchboard_promises_lateness_median_seconds Median of how late the promises kept late in the last 24 h were.
# TYPE switchboard_promises_lateness_median_seconds gauge
switchboard_promises_lateness_median_seconds{name="ana",scope="agent"} 120
switchboard_promises_lateness_median_seconds{name="support",scope="queue"} 120
`
	if err := testutil.CollectAndCompare(NewMetrics(s), strings.NewReader(want),
		"switchboard_promises_kept_on_time_ratio", "switchboard_promises_lateness_median_seconds"); err != nil {
		t.Fatal(err)
	}
}
