package routing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
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
	// Handle is called for every event, in stream order per consumer. An
	// error leaves the event pending: it is handed out again after
	// ClaimAfter, to this or another gateway.
	Handle func(ctx context.Context, ev Event) error
	// ClaimAfter is how long an event may stay unacknowledged with a
	// consumer (a crashed gateway) before another claims it; 0 means 30s.
	ClaimAfter time.Duration
	// Batch is how many events one read takes; 0 means 128.
	Batch int64
}

// Consume hands every event recorded after the group was first created to
// exactly one consumer of the group (at least once when a consumer dies
// mid-event), until ctx ends. It is how side effects of routing decisions —
// a transcript line, a websocket frame — happen once across all gateways,
// where Subscribe would deliver to every gateway.
func (e *Engine) Consume(ctx context.Context, p ConsumeParams) error {
	if p.Group == "" || p.Consumer == "" || p.Handle == nil {
		return fmt.Errorf("routing: consume: %w: group, consumer and handler are required", ErrInvalid)
	}
	if p.ClaimAfter <= 0 {
		p.ClaimAfter = 30 * time.Second
	}
	if p.Batch <= 0 {
		p.Batch = 128
	}
	stream := e.k.events()
	for {
		err := e.c.XGroupCreateMkStream(ctx, stream, p.Group, "$").Err()
		if err == nil || strings.HasPrefix(err.Error(), "BUSYGROUP") {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		e.log.Warn("routing: create consumer group; retrying", "group", p.Group, "err", err)
		if !sleep(ctx, time.Second) {
			return nil
		}
	}
	nextClaim := time.Time{}
	for ctx.Err() == nil {
		if time.Now().After(nextClaim) {
			e.claimStale(ctx, stream, p)
			nextClaim = time.Now().Add(p.ClaimAfter / 2)
		}
		res, err := e.c.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: p.Group, Consumer: p.Consumer, Streams: []string{stream, ">"},
			Count: p.Batch, Block: time.Second,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if strings.HasPrefix(err.Error(), "NOGROUP") {
				// The stream was deleted (FLUSHALL, a restore): make the
				// group again rather than spin.
				_ = e.c.XGroupCreateMkStream(ctx, stream, p.Group, "$").Err()
			}
			e.log.Warn("routing: read events", "group", p.Group, "err", err)
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		for _, s := range res {
			e.handleAll(ctx, stream, p, s.Messages)
		}
	}
	return nil
}

// claimStale takes over events another consumer read and never
// acknowledged, because it died or its handler kept failing.
func (e *Engine) claimStale(ctx context.Context, stream string, p ConsumeParams) {
	start := "0-0"
	for ctx.Err() == nil {
		msgs, next, err := e.c.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: stream, Group: p.Group, Consumer: p.Consumer,
			MinIdle: p.ClaimAfter, Start: start, Count: p.Batch,
		}).Result()
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("routing: claim stale events", "group", p.Group, "err", err)
			}
			return
		}
		e.handleAll(ctx, stream, p, msgs)
		if next == "0-0" || len(msgs) == 0 {
			return
		}
		start = next
	}
}

func (e *Engine) handleAll(ctx context.Context, stream string, p ConsumeParams, msgs []redis.XMessage) {
	for _, m := range msgs {
		f := make(map[string]string, len(m.Values))
		for k, v := range m.Values {
			if s, ok := v.(string); ok {
				f[k] = s
			}
		}
		if err := p.Handle(ctx, eventFrom(m.ID, f)); err != nil {
			if errors.Is(err, ErrRetryLater) {
				e.log.Debug("routing: event deferred", "group", p.Group, "event", m.ID, "err", err)
				continue
			}
			e.log.Warn("routing: event handler failed; it will be retried", "group", p.Group, "event", m.ID, "err", err)
			continue
		}
		if err := e.c.XAck(ctx, stream, p.Group, m.ID).Err(); err != nil && ctx.Err() == nil {
			e.log.Warn("routing: ack event", "group", p.Group, "event", m.ID, "err", err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
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
