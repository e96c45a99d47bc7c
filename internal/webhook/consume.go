package webhook

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/streamwork"
)

// group is the consumer group of the webhook fan-out on every stream it
// reads, routing's included.
const group = "webhooks"

// Figures of the fact consumer: entries per read, goroutines handling
// ordering keys in parallel (the fan-out waits on Redis, not on cores),
// and the wait after a read that was not full. Under load the facts
// arrive one or two at a time; reading them at once cost one XREADGROUP
// per fact or two, about 5% of a busy gateway's CPU. A webhook leaves
// within a few hundred milliseconds anyway (an HTTP call to a customer's
// system), so 25 ms more buys reads of whole batches. The fan-out of
// routing's events waits the same factLinger: read at once, it cost an
// XREADGROUP per contact (docs/benchmarks.md).
const (
	factBatch   = 256
	factWorkers = 16
	factLinger  = 25 * time.Millisecond
)

// consumeFacts fans out the entries of the other packages' streams until
// ctx ends: one blocking XREADGROUP reads all of them (streamwork), so an
// idle gateway costs one command a second whatever the number of streams.
// Entries of one ordering key are handled one at a time in stream order
// on this gateway; an entry is acknowledged once its deliveries are
// queued, so a gateway that dies before leaves it pending, and another
// gateway claims it after ClaimAfter (queuing is idempotent per event and
// endpoint).
func (s *Service) consumeFacts(ctx context.Context, srcs []source) {
	streams := make([]streamwork.Stream, 0, len(srcs))
	for _, src := range srcs {
		streams = append(streams, streamwork.Stream{
			Name: src.stream,
			Key:  func(m redis.XMessage) string { return src.key(m.Values) },
			Handle: func(ctx context.Context, m redis.XMessage) error {
				envs, err := src.envelopes(ctx, m.ID, m.Values)
				if err == nil {
					err = s.queueAll(ctx, envs)
				}
				if err != nil && ctx.Err() == nil {
					s.log.Warn("webhook: fan-out failed; it will be retried", "stream", src.stream, "event", m.ID, "err", err)
				}
				return err
			},
		})
	}
	// Run only fails on incomplete Params, and Service.Run checked the
	// consumer: a failure here is a bug, said loudly.
	if err := streamwork.Run(ctx, streamwork.Params{Client: s.rdb, Group: group, Consumer: s.p.Consumer,
		Streams: streams, ClaimAfter: s.p.ClaimAfter, Batch: factBatch, Workers: factWorkers,
		ReadLinger: factLinger, Log: s.log}); err != nil {
		s.log.Error("webhook: consume event streams", "err", err)
	}
}
