package routing

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
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
	// Handle is called for every event. Events of one conversation (or, for
	// agent events, of one agent) reach it one at a time in stream order on
	// this gateway; events of different conversations run in parallel on
	// Workers goroutines, so Handle must be safe for concurrent use. An
	// error leaves the event pending: it is handed out again after
	// ClaimAfter, to this or another gateway; ErrRetryLater does so
	// without a warning.
	Handle func(ctx context.Context, ev Event) error
	// ClaimAfter is how long an event may stay unacknowledged with a
	// consumer (a crashed gateway) before another claims it; 0 means 30s.
	ClaimAfter time.Duration
	// Batch is how many events one read takes; 0 means 256.
	Batch int64
	// Workers is how many conversations are handled at once; 0 means 32.
	// The handler waits on Redis far more than it computes, so this is
	// about hiding round trips, not about cores.
	Workers int
}

// consumeQueue is how many events may wait for one worker before the
// reader stops reading: bounded, so a slow handler slows the reads instead
// of filling memory.
const consumeQueue = 64

// Consume hands every event recorded after the group was first created to
// exactly one consumer of the group (at least once when a consumer dies
// mid-event), until ctx ends. It is how side effects of routing decisions —
// a transcript line, a websocket frame — happen once across all gateways,
// where Subscribe would deliver to every gateway.
//
// One reader takes events in batches and partitions them by conversation
// onto Workers goroutines, so one conversation's events keep their order
// while different conversations proceed in parallel; acknowledgements are
// collected and sent many ids to one XACK. Across gateways, as before, the
// group hands consecutive events to whichever consumer reads first.
func (e *Engine) Consume(ctx context.Context, p ConsumeParams) error {
	if p.Group == "" || p.Consumer == "" || p.Handle == nil {
		return fmt.Errorf("routing: consume: %w: group, consumer and handler are required", ErrInvalid)
	}
	if p.ClaimAfter <= 0 {
		p.ClaimAfter = 30 * time.Second
	}
	if p.Batch <= 0 {
		p.Batch = 256
	}
	if p.Workers <= 0 {
		p.Workers = 32
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
	d := newDispatcher(ctx, e, stream, p)
	defer d.stop()
	nextClaim := time.Time{}
	for ctx.Err() == nil {
		if time.Now().After(nextClaim) {
			e.claimStale(ctx, stream, p, d)
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
			d.dispatch(s.Messages)
		}
	}
	return nil
}

// claimStale takes over events another consumer read and never
// acknowledged, because it died or its handler kept failing.
func (e *Engine) claimStale(ctx context.Context, stream string, p ConsumeParams, d *dispatcher) {
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
		d.dispatch(msgs)
		if next == "0-0" || len(msgs) == 0 {
			return
		}
		start = next
	}
}

// dispatcher runs the handler on a fixed set of workers, each owning the
// conversations that hash to it, and acknowledges handled events in
// batches.
type dispatcher struct {
	e       *Engine
	ctx     context.Context
	p       ConsumeParams
	stream  string
	seed    maphash.Seed
	work    []chan Event
	acks    chan string
	workers sync.WaitGroup
	acker   sync.WaitGroup
}

func newDispatcher(ctx context.Context, e *Engine, stream string, p ConsumeParams) *dispatcher {
	d := &dispatcher{e: e, ctx: ctx, p: p, stream: stream, seed: maphash.MakeSeed(),
		work: make([]chan Event, p.Workers), acks: make(chan string, 4*int(p.Batch))}
	for i := range d.work {
		ch := make(chan Event, consumeQueue)
		d.work[i] = ch
		d.workers.Go(func() {
			for ev := range ch {
				d.handle(ev)
			}
		})
	}
	d.acker.Go(d.ackLoop)
	return d
}

// dispatch decodes msgs and queues each on the worker its conversation
// hashes to. It blocks while that worker is full; that is the backpressure
// that keeps the reader from running ahead of the handlers.
func (d *dispatcher) dispatch(msgs []redis.XMessage) {
	for _, m := range msgs {
		f := make(map[string]string, len(m.Values))
		for k, v := range m.Values {
			if s, ok := v.(string); ok {
				f[k] = s
			}
		}
		ev := eventFrom(m.ID, f)
		key := ev.ConversationID
		if key == "" {
			key = "agent:" + ev.AgentID
		}
		w := d.work[maphash.String(d.seed, key)%uint64(len(d.work))]
		select {
		case w <- ev:
		case <-d.ctx.Done():
			return // left pending; claimed after ClaimAfter
		}
	}
}

func (d *dispatcher) handle(ev Event) {
	if d.ctx.Err() != nil {
		return
	}
	if err := d.p.Handle(d.ctx, ev); err != nil {
		if errors.Is(err, ErrRetryLater) {
			d.e.log.Debug("routing: event deferred", "group", d.p.Group, "event", ev.ID, "err", err)
			return
		}
		d.e.log.Warn("routing: event handler failed; it will be retried", "group", d.p.Group, "event", ev.ID, "err", err)
		return
	}
	d.acks <- ev.ID
}

// ackLoop sends the handled ids in as few XACKs as possible: whatever
// accumulated while the previous XACK was on the wire goes in the next.
func (d *dispatcher) ackLoop() {
	ids := make([]string, 0, 4*d.p.Batch)
	for id := range d.acks {
		ids = append(ids[:0], id)
	more:
		for len(ids) < cap(ids) {
			select {
			case id, ok := <-d.acks:
				if !ok {
					break more
				}
				ids = append(ids, id)
			default:
				break more
			}
		}
		// The serve context may be over; acks of work already done are
		// still worth sending, briefly.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 5*time.Second)
		if err := d.e.c.XAck(ctx, d.stream, d.p.Group, ids...).Err(); err != nil {
			d.e.log.Warn("routing: ack events", "group", d.p.Group, "events", len(ids), "err", err)
		}
		cancel()
	}
}

// stop lets the workers finish what they hold (the handler sees the
// cancelled context), then flushes the last acknowledgements.
func (d *dispatcher) stop() {
	for _, w := range d.work {
		close(w)
	}
	d.workers.Wait()
	close(d.acks)
	d.acker.Wait()
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
