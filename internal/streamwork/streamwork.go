// Package streamwork owns the one way Switchboard works through Redis
// streams with a consumer group: read entries in batches, partition them
// by an ordering key onto a fixed set of workers (one key's entries are
// handled one at a time in stream order on this consumer, different keys
// in parallel), acknowledge handled entries many ids to one XACK, and
// claim the entries a dead or failing consumer left pending.
//
// Every consumer in the group shares the work, so each entry is handled
// by one of them: at least once, since a consumer that dies between
// handling and acknowledging leaves the entry to be claimed again. What an
// entry's key is and what handling it means are the caller's (routing's
// event reactor, the webhook fan-out); the stream and group names too.
package streamwork

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stream is one stream the group reads and what its entries mean to the
// caller.
type Stream struct {
	// Name is the stream's key.
	Name string
	// Key is an entry's ordering key: entries with one key are handled one
	// at a time, in stream order, on this consumer. It runs on the reading
	// goroutine, before the entry is queued, so it should only look at the
	// entry's fields.
	Key func(m redis.XMessage) string
	// Handle does the work of one entry. It runs on a worker goroutine,
	// concurrently with other keys' entries, so it must be safe for
	// concurrent use. Nil acknowledges the entry; an error leaves it
	// pending, handed out again after ClaimAfter to this or another
	// consumer. Run does not log the error: what a failure means (worth a
	// warning, or an expected "later") is the handler's to say.
	Handle func(ctx context.Context, m redis.XMessage) error
}

// Params configure Run. Zero values mean the documented default.
type Params struct {
	// Client is the Redis connection. Required.
	Client redis.UniversalClient
	// Group names the consumer group; every consumer with the same group
	// shares the work. It is created at the end of each stream (and the
	// stream with it) if missing. Required.
	Group string
	// Consumer names this consumer within the group; required and unique
	// per process.
	Consumer string
	// Streams are read together, with one blocking XREADGROUP, so an idle
	// consumer costs one command a second whatever their number. On Redis
	// Cluster they must share a hash slot. At least one.
	Streams []Stream
	// ClaimAfter is how long an entry may stay unacknowledged with a
	// consumer (a crashed gateway) before another claims it; 0 means 30s.
	ClaimAfter time.Duration
	// Batch is how many entries one read takes; 0 means 256. Up to four
	// batches' worth of handled ids go in one XACK.
	Batch int64
	// Workers is how many keys are handled at once; 0 means 32. Handlers
	// wait on Redis far more than they compute, so this is about hiding
	// round trips, not about cores.
	Workers int
	// AckLinger is how long the acker waits, after an entry is handled,
	// for others to go in the same XACK; 0 means 5ms. A contact's few
	// events reach a gateway one or two at a time, so acknowledging each
	// as it came cost more XACKs than there were reads. An entry only
	// stays pending that much longer, which costs nothing unless the
	// consumer dies meanwhile (then it is handled again, as at-least-once
	// allows).
	AckLinger time.Duration
	// ReadLinger is how long the reader waits, after a read that came back
	// with less than a full batch, before it reads again; 0 reads again at
	// once. A stream written a few entries at a time is then read in
	// batches: one read per linger instead of one per entry or two, for
	// consumers that need not answer within milliseconds (webhook fan-out).
	// An idle stream still costs one blocking read a second.
	ReadLinger time.Duration
	// Log receives what goes wrong with Redis (reads, claims, acks); nil
	// means slog.Default().
	Log *slog.Logger
}

// Defaults of Params.
const (
	DefaultClaimAfter = 30 * time.Second
	DefaultBatch      = 256
	DefaultWorkers    = 32
	DefaultAckLinger  = 5 * time.Millisecond
)

// workerQueue is how many entries may wait for one worker before the
// reader stops reading: bounded, so a slow handler slows the reads instead
// of filling memory.
const workerQueue = 64

// Run hands the entries of p.Streams to their handlers until ctx ends,
// then lets the workers finish what they hold (handlers see the cancelled
// context) and sends the last acknowledgements before it returns. Entries
// read but not handled stay pending for another consumer to claim. It
// returns an error only for invalid Params.
func Run(ctx context.Context, p Params) error {
	if p.Client == nil || p.Group == "" || p.Consumer == "" || len(p.Streams) == 0 {
		return errors.New("streamwork: client, group, consumer and at least one stream are required")
	}
	for _, s := range p.Streams {
		if s.Name == "" || s.Key == nil || s.Handle == nil {
			return fmt.Errorf("streamwork: stream %q needs a name, a key and a handler", s.Name)
		}
	}
	if p.ClaimAfter <= 0 {
		p.ClaimAfter = DefaultClaimAfter
	}
	if p.Batch <= 0 {
		p.Batch = DefaultBatch
	}
	if p.Workers <= 0 {
		p.Workers = DefaultWorkers
	}
	if p.AckLinger <= 0 {
		p.AckLinger = DefaultAckLinger
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
	// XREADGROUP's arguments: every stream's name, then an id (">": new
	// entries only) for each.
	read := make([]string, 0, 2*len(p.Streams))
	for _, s := range p.Streams {
		read = append(read, s.Name)
	}
	for range p.Streams {
		read = append(read, ">")
	}
	for _, s := range p.Streams {
		if !ensureGroup(ctx, p, s.Name) {
			return nil
		}
	}
	d := newDispatcher(ctx, p)
	defer d.stop()
	nextClaim := time.Time{}
	for ctx.Err() == nil {
		if time.Now().After(nextClaim) {
			for i := range p.Streams {
				d.claimStale(i)
			}
			nextClaim = time.Now().Add(p.ClaimAfter / 2)
		}
		res, err := p.Client.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: p.Group, Consumer: p.Consumer, Streams: read, Count: p.Batch, Block: time.Second,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if isNoGroup(err) {
				// A stream was deleted (FLUSHALL, a restore): make the
				// groups again rather than spin.
				for _, s := range p.Streams {
					_ = p.Client.XGroupCreateMkStream(ctx, s.Name, p.Group, "$").Err()
				}
			}
			p.Log.Warn("streamwork: read streams", "group", p.Group, "err", err)
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		full := false
		for _, st := range res {
			full = full || int64(len(st.Messages)) >= p.Batch
			for i := range p.Streams {
				if p.Streams[i].Name == st.Stream {
					d.dispatch(i, st.Messages)
				}
			}
		}
		if p.ReadLinger > 0 && !full {
			sleep(ctx, p.ReadLinger)
		}
	}
	return nil
}

// ensureGroup creates the group at the stream's end (and the stream), so
// entries from now on are delivered; it retries until Redis answers, and
// reports false if ctx ended first.
func ensureGroup(ctx context.Context, p Params, stream string) bool {
	for {
		err := p.Client.XGroupCreateMkStream(ctx, stream, p.Group, "$").Err()
		if err == nil || strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		p.Log.Warn("streamwork: create consumer group; retrying", "group", p.Group, "stream", stream, "err", err)
		if !sleep(ctx, time.Second) {
			return false
		}
	}
}

func isNoGroup(err error) bool { return strings.HasPrefix(err.Error(), "NOGROUP") }

// entry is one stream entry waiting for its worker.
type entry struct {
	stream int // index in Params.Streams
	msg    redis.XMessage
}

// handled is the id of an entry handled, waiting for its XACK.
type handled struct {
	stream int
	id     string
}

// dispatcher runs the handlers on a fixed set of workers, each owning the
// keys that hash to it, and acknowledges handled entries in batches.
type dispatcher struct {
	ctx     context.Context
	p       Params
	seed    maphash.Seed
	work    []chan entry
	acks    chan handled
	workers sync.WaitGroup
	acker   sync.WaitGroup
}

func newDispatcher(ctx context.Context, p Params) *dispatcher {
	d := &dispatcher{ctx: ctx, p: p, seed: maphash.MakeSeed(),
		work: make([]chan entry, p.Workers), acks: make(chan handled, 4*int(p.Batch))}
	for i := range d.work {
		ch := make(chan entry, workerQueue)
		d.work[i] = ch
		d.workers.Go(func() {
			for e := range ch {
				d.handle(e)
			}
		})
	}
	d.acker.Go(d.ackLoop)
	return d
}

// claimStale takes over entries of stream i that a consumer read and never
// acknowledged, because it died or its handler kept failing.
func (d *dispatcher) claimStale(i int) {
	stream := d.p.Streams[i].Name
	start := "0-0"
	for d.ctx.Err() == nil {
		msgs, next, err := d.p.Client.XAutoClaim(d.ctx, &redis.XAutoClaimArgs{
			Stream: stream, Group: d.p.Group, Consumer: d.p.Consumer,
			MinIdle: d.p.ClaimAfter, Start: start, Count: d.p.Batch,
		}).Result()
		if err != nil {
			// NOGROUP: the read that follows makes the group again.
			if d.ctx.Err() == nil && !isNoGroup(err) {
				d.p.Log.Warn("streamwork: claim stale entries", "group", d.p.Group, "stream", stream, "err", err)
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

// dispatch queues each of msgs (of stream i) on the worker its key hashes
// to. It blocks while that worker is full: the backpressure that keeps the
// reader from running ahead of the handlers.
func (d *dispatcher) dispatch(i int, msgs []redis.XMessage) {
	key := d.p.Streams[i].Key
	for _, m := range msgs {
		w := d.work[maphash.String(d.seed, key(m))%uint64(len(d.work))]
		select {
		case w <- entry{stream: i, msg: m}:
		case <-d.ctx.Done():
			return // left pending; claimed after ClaimAfter
		}
	}
}

func (d *dispatcher) handle(e entry) {
	if d.ctx.Err() != nil {
		return // left pending; claimed after ClaimAfter
	}
	if err := d.p.Streams[e.stream].Handle(d.ctx, e.msg); err != nil {
		return
	}
	d.acks <- handled{stream: e.stream, id: e.msg.ID}
}

// ackLoop sends the handled ids in as few XACKs as possible (one per
// stream with any): whatever was handled within AckLinger of the first,
// or accumulated while the previous XACK was on the wire, goes in the
// next. Closing d.acks sends what is held at once.
func (d *dispatcher) ackLoop() {
	limit := cap(d.acks)
	ids := make([][]string, len(d.p.Streams))
	for i := range ids {
		ids[i] = make([]string, 0, limit)
	}
	linger := time.NewTimer(d.p.AckLinger)
	linger.Stop()
	for h := range d.acks {
		for i := range ids {
			ids[i] = ids[i][:0]
		}
		ids[h.stream] = append(ids[h.stream], h.id)
		linger.Reset(d.p.AckLinger)
	more:
		for n := 1; n < limit; n++ {
			select {
			case h, ok := <-d.acks:
				if !ok {
					break more
				}
				ids[h.stream] = append(ids[h.stream], h.id)
			case <-linger.C:
				break more
			}
		}
		linger.Stop()
		d.ack(ids)
	}
}

// ack sends one XACK per stream with handled ids, in one round trip: a
// plain command for one stream, a pipeline for several.
func (d *dispatcher) ack(ids [][]string) {
	// ctx may be over; acks of work already done are still worth sending,
	// briefly.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 5*time.Second)
	defer cancel()
	var c redis.Cmdable = d.p.Client
	var pipe redis.Pipeliner
	n := 0
	for _, list := range ids {
		if len(list) > 0 {
			n++
		}
	}
	if n > 1 {
		pipe = d.p.Client.Pipeline()
		c = pipe
	}
	cmds := make([]*redis.IntCmd, len(ids))
	for i, list := range ids {
		if len(list) > 0 {
			cmds[i] = c.XAck(ctx, d.p.Streams[i].Name, d.p.Group, list...)
		}
	}
	if pipe != nil {
		_, _ = pipe.Exec(ctx) // each command carries its own error
	}
	for i, cmd := range cmds {
		if cmd != nil && cmd.Err() != nil {
			d.p.Log.Warn("streamwork: ack entries", "group", d.p.Group, "stream", d.p.Streams[i].Name, "entries", len(ids[i]), "err", cmd.Err())
		}
	}
}

// stop lets the workers finish what they hold, then flushes the last
// acknowledgements.
func (d *dispatcher) stop() {
	for _, w := range d.work {
		close(w)
	}
	d.workers.Wait()
	close(d.acks)
	d.acker.Wait()
}

// sleep waits d or until ctx ends, and reports whether it was d.
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
