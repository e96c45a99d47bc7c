package desk

import (
	"testing"

	"github.com/switchboard/switchboard/internal/stats"
	"github.com/switchboard/switchboard/routing"
)

// stats keeps its own names for the routing events it folds, so that it
// does not depend on routing; statsEvent converts by value. A renamed
// routing event would silently stop counting: each name must match.
func TestStatsEventNamesAreRoutings(t *testing.T) {
	for s, r := range map[stats.EventType]routing.EventType{
		stats.Enqueued:              routing.EventEnqueued,
		stats.Offered:               routing.EventOffered,
		stats.Accepted:              routing.EventAccepted,
		stats.Declined:              routing.EventDeclined,
		stats.Expired:               routing.EventExpired,
		stats.Abandoned:             routing.EventAbandoned,
		stats.Closed:                routing.EventClosed,
		stats.Transferred:           routing.EventTransferred,
		stats.Estimated:             routing.EventEstimated,
		stats.AgentStateChanged:     routing.EventAgentState,
		stats.AgentAwayMissedOffers: routing.EventAgentAwayMissedOffers,
	} {
		if got := statsEvent(routing.Event{Type: r}).Type; got != s {
			t.Errorf("routing %q arrives in stats as %q, which it calls %q", r, got, s)
		}
	}
}
