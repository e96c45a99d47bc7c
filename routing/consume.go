package routing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/streamwork"
)

// ConsumeParams configure Consume. Zero values mean the documented default.
type ConsumeParams struct {
	// Group names the consumer group; every gateway consuming with the same
	// group shares the work, so each event is handled by one of them.
	// Required.
	Group string
	// Consumer names this gateway within the group; required and unique per
	// process.
	Consumer string
	// Handle is called for every event. Events of one conversation (or, for
	// agent events, of one agent) reach it one at a time in stream order on
	// this gateway; events of different conversations run in parallel on
	// Workers goroutines, so Handle must be safe for concurrent use. An
	// error leaves the event pending: it is handed out again after
	// ClaimAfter, to this or another gateway; ErrRetryLater does so
	// without a warning.
	Handle func(ctx context.Context, ev Event) error
	// ClaimAfter is how long an event may stay unacknowledged with a
	// consumer (a crashed gateway) before another claims it; 0 means 30s
	// (streamwork.DefaultClaimAfter).
	ClaimAfter time.Duration
	// Batch is how many events one read takes; 0 means 256
	// (streamwork.DefaultBatch).
	Batch int64
	// Workers is how many conversations are handled at once; 0 means 32
	// (streamwork.DefaultWorkers).
	// The handler waits on Redis far more than it computes, so this is
	// about hiding round trips, not about cores.
	Workers int
	// ReadLinger is how long the reader waits, after a read that was not
	// full, before it reads again; 0 reads again at once. A consumer that
	// need not answer within milliseconds (webhook fan-out) then reads the
	// stream in batches instead of once per event or two
	// (streamwork.Params.ReadLinger).
	ReadLinger time.Duration
}

// Consume hands every event recorded after the group was first created to
// exactly one consumer of the group (at least once when a consumer dies
// mid-event), until ctx ends. It is how side effects of routing decisions —
// a transcript line, a websocket frame — happen once across all gateways,
// where Subscribe would deliver to every gateway.
//
// The reading is streamwork's: events are read in batches and partitioned
// by conversation (agent events by agent) onto Workers goroutines, so one
// conversation's events keep their order while different conversations
// proceed in parallel; acknowledgements go many ids to one XACK. Across
// gateways the group hands consecutive events to whichever consumer reads
// first.
func (e *Engine) Consume(ctx context.Context, p ConsumeParams) error {
	if p.Group == "" || p.Consumer == "" || p.Handle == nil {
		return fmt.Errorf("routing: consume: %w: group, consumer and handler are required", ErrInvalid)
	}
	handle := func(ctx context.Context, m redis.XMessage) error {
		ev := eventOf(m)
		err := p.Handle(ctx, ev)
		switch {
		case err == nil:
		case errors.Is(err, ErrRetryLater):
			e.log.Debug("routing: event deferred", "group", p.Group, "event", ev.ID, "err", err)
		default:
			e.log.Warn("routing: event handler failed; it will be retried", "group", p.Group, "event", ev.ID, "err", err)
		}
		return err
	}
	return streamwork.Run(ctx, streamwork.Params{Client: e.c, Group: p.Group, Consumer: p.Consumer,
		ClaimAfter: p.ClaimAfter, Batch: p.Batch, Workers: p.Workers, ReadLinger: p.ReadLinger, Log: e.log,
		Streams: []streamwork.Stream{{Name: e.k.events(), Key: eventKey, Handle: handle}}})
}

// eventKey is the ordering key of an event: its conversation, or for an
// agent's own events (state changes) the agent.
func eventKey(m redis.XMessage) string {
	if conv, _ := m.Values["conv"].(string); conv != "" {
		return conv
	}
	agent, _ := m.Values["agent"].(string)
	return "agent:" + agent
}

// ConsumerLag is how far one consumer group is behind the event stream.
type ConsumerLag struct {
	Group string
	// Lag is the number of events not yet handed to any consumer of the
	// group; -1 when Redis cannot tell (the stream was trimmed past the
	// group's position).
	Lag int64
	// Pending is the number handed out but not yet acknowledged.
	Pending int64
}

// ConsumerLags reports every consumer group of the event stream, for the
// event-consumer lag metric and its alert.
func (e *Engine) ConsumerLags(ctx context.Context) ([]ConsumerLag, error) {
	groups, err := e.c.XInfoGroups(ctx, e.k.events()).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return nil, nil
		}
		return nil, fmt.Errorf("routing: consumer groups: %w", err)
	}
	out := make([]ConsumerLag, 0, len(groups))
	for _, g := range groups {
		out = append(out, ConsumerLag{Group: g.Name, Lag: g.Lag, Pending: g.Pending})
	}
	return out, nil
}
