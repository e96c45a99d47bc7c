package webhook

import (
	"context"
	"errors"
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// group is the consumer group of the webhook fan-out on every stream it
// reads, routing's included.
const group = "webhooks"

// Figures of the fact consumer: entries per read, and goroutines handling
// ordering keys in parallel (the fan-out waits on Redis, not on cores).
const (
	factBatch   = 256
	factWorkers = 16
	factQueue   = 64
)

// consumeFacts fans out the entries of the other packages' streams until
// ctx ends: one blocking XREADGROUP reads all of them, so an idle gateway
// costs one command a second whatever the number of streams. Entries of
// one ordering key are handled one at a time in stream order on this
// gateway; an entry is acknowledged once its deliveries are queued, so a
// gateway that dies before leaves it pending, and another gateway claims
// it after ClaimAfter (queuing is idempotent per event and endpoint).
func (s *Service) consumeFacts(ctx context.Context, srcs []source) {
	streams := make([]string, 0, 2*len(srcs))
	for _, src := range srcs {
		streams = append(streams, src.stream)
	}
	for _, st := range streams {
		s.ensureGroup(ctx, st)
	}
	for range srcs {
		streams = append(streams, ">")
	}
	d := newFactDispatcher(ctx, s, srcs)
	defer d.stop()
	nextClaim := time.Time{}
	for ctx.Err() == nil {
		if time.Now().After(nextClaim) {
			for i := range srcs {
				s.claimStale(ctx, srcs, i, d)
			}
			nextClaim = time.Now().Add(s.p.ClaimAfter / 2)
		}
		res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: group, Consumer: s.p.Consumer, Streams: streams, Count: factBatch, Block: time.Second,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if strings.HasPrefix(err.Error(), "NOGROUP") {
				// A stream was deleted (FLUSHALL, a restore): make the
				// groups again rather than spin.
				for _, src := range srcs {
					s.ensureGroup(ctx, src.stream)
				}
			}
			s.log.Warn("webhook: read event streams", "err", err)
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		for _, st := range res {
			for i, src := range srcs {
				if src.stream == st.Stream {
					d.dispatch(i, st.Messages)
				}
			}
		}
	}
}

// ensureGroup creates the group at the stream's end (and the stream), so
// events from now on are delivered; it retries until Redis answers.
func (s *Service) ensureGroup(ctx context.Context, stream string) {
	for ctx.Err() == nil {
		err := s.rdb.XGroupCreateMkStream(ctx, stream, group, "$").Err()
		if err == nil || strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return
		}
		s.log.Warn("webhook: create consumer group; retrying", "stream", stream, "err", err)
		sleep(ctx, time.Second)
	}
}

// claimStale takes over entries another gateway read and never
// acknowledged, because it died or its fan-out kept failing.
func (s *Service) claimStale(ctx context.Context, srcs []source, i int, d *factDispatcher) {
	start := "0-0"
	for ctx.Err() == nil {
		msgs, next, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: srcs[i].stream, Group: group, Consumer: s.p.Consumer,
			MinIdle: s.p.ClaimAfter, Start: start, Count: factBatch,
		}).Result()
		if err != nil {
			if ctx.Err() == nil && !strings.HasPrefix(err.Error(), "NOGROUP") {
				s.log.Warn("webhook: claim stale events", "stream", srcs[i].stream, "err", err)
			}
			return
		}
		d.dispatch(i, msgs)
		if next == "0-0" || len(msgs) == 0 {
			return
		}
		start = next
	}
}

// factItem is one entry waiting for its worker.
type factItem struct {
	src int
	msg redis.XMessage
}

// factDispatcher hands each entry to the worker its ordering key hashes
// to and acknowledges handled entries in batches per stream.
type factDispatcher struct {
	s       *Service
	ctx     context.Context
	srcs    []source
	seed    maphash.Seed
	work    []chan factItem
	acks    chan factItem
	workers sync.WaitGroup
	acker   sync.WaitGroup
}

func newFactDispatcher(ctx context.Context, s *Service, srcs []source) *factDispatcher {
	d := &factDispatcher{s: s, ctx: ctx, srcs: srcs, seed: maphash.MakeSeed(),
		work: make([]chan factItem, factWorkers), acks: make(chan factItem, 4*factBatch)}
	for i := range d.work {
		ch := make(chan factItem, factQueue)
		d.work[i] = ch
		d.workers.Go(func() {
			for it := range ch {
				d.handle(it)
			}
		})
	}
	d.acker.Go(d.ackLoop)
	return d
}

// dispatch blocks while the worker is full: the backpressure that keeps
// the reader from running ahead of the fan-out.
func (d *factDispatcher) dispatch(src int, msgs []redis.XMessage) {
	for _, m := range msgs {
		key := d.srcs[src].key(m.Values)
		w := d.work[maphash.String(d.seed, key)%uint64(len(d.work))]
		select {
		case w <- factItem{src: src, msg: m}:
		case <-d.ctx.Done():
			return // left pending; claimed after ClaimAfter
		}
	}
}

func (d *factDispatcher) handle(it factItem) {
	if d.ctx.Err() != nil {
		return
	}
	src := d.srcs[it.src]
	envs, err := src.envelopes(d.ctx, it.msg.ID, it.msg.Values)
	if err == nil {
		err = d.s.queueAll(d.ctx, envs)
	}
	if err != nil {
		if d.ctx.Err() == nil {
			d.s.log.Warn("webhook: fan-out failed; it will be retried", "stream", src.stream, "event", it.msg.ID, "err", err)
		}
		return
	}
	d.acks <- it
}

// ackLoop sends the handled ids in as few XACKs as possible.
func (d *factDispatcher) ackLoop() {
	for it := range d.acks {
		ids := map[int][]string{it.src: {it.msg.ID}}
	more:
		for n := 1; n < 4*factBatch; n++ {
			select {
			case it, ok := <-d.acks:
				if !ok {
					break more
				}
				ids[it.src] = append(ids[it.src], it.msg.ID)
			default:
				break more
			}
		}
		// Acks of fan-outs already done are worth sending after ctx ends.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 5*time.Second)
		for src, list := range ids {
			if err := d.s.rdb.XAck(ctx, d.srcs[src].stream, group, list...).Err(); err != nil {
				d.s.log.Warn("webhook: ack events", "stream", d.srcs[src].stream, "events", len(list), "err", err)
			}
		}
		cancel()
	}
}

// stop lets the workers finish what they hold, then flushes the acks.
func (d *factDispatcher) stop() {
	for _, w := range d.work {
		close(w)
	}
	d.workers.Wait()
	close(d.acks)
	d.acker.Wait()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
