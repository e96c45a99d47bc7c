package streamwork

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/redistest"
)

var server *redistest.Server

func TestMain(m *testing.M) { os.Exit(redistest.RunPackage(m, redistest.Options{}, &server)) }

var seq atomic.Int64

// streamName is a stream key unique to this test run.
func streamName(t *testing.T, suffix string) string {
	return fmt.Sprintf("sw:{%s-%d}:%s", strings.ReplaceAll(t.Name(), "/", "-"), seq.Add(1), suffix)
}

// byKey is the Key of every test stream: the entry's "key" field.
func byKey(m redis.XMessage) string { s, _ := m.Values["key"].(string); return s }

// add appends one entry per key to stream, in order, and returns the ids.
func add(t *testing.T, c redis.UniversalClient, stream string, keys ...string) []string {
	t.Helper()
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		id, err := c.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: map[string]any{"key": k}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// start runs p until the returned stop is called (or the test ends); stop
// waits for Run to return. It returns once the group exists on every
// stream, so no entry added after is missed.
func start(t *testing.T, p Params) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := Run(ctx, p); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	for _, s := range p.Streams {
		waitFor(t, "the group on "+s.Name, func() bool {
			groups, _ := p.Client.XInfoGroups(context.Background(), s.Name).Result()
			return len(groups) > 0
		})
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// pending lists the ids the group holds unacknowledged, by consumer.
func pending(t *testing.T, c redis.UniversalClient, stream, group string) map[string]string {
	t.Helper()
	ps, err := c.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: stream, Group: group, Start: "-", End: "+", Count: 10_000}).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range ps {
		out[p.ID] = p.Consumer
	}
	return out
}

// log is a set of handled entry ids, safe for the workers.
type log struct {
	mu    sync.Mutex
	ids   []string
	byKey map[string][]string
}

func (l *log) add(m redis.XMessage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byKey == nil {
		l.byKey = map[string][]string{}
	}
	l.ids = append(l.ids, m.ID)
	l.byKey[byKey(m)] = append(l.byKey[byKey(m)], m.ID)
}

// handle is a Handle that records every entry.
func (l *log) handle(_ context.Context, m redis.XMessage) error { l.add(m); return nil }

// holding is handle, except that the entries of key wait until release is
// closed (or the consumer stops, which leaves them pending).
func (l *log) holding(key string, release <-chan struct{}) func(context.Context, redis.XMessage) error {
	return func(ctx context.Context, m redis.XMessage) error {
		if byKey(m) == key {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return l.handle(ctx, m)
	}
}

func (l *log) len() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.ids) }

func (l *log) has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.ids, id)
}

func (l *log) keys() int { l.mu.Lock(); defer l.mu.Unlock(); return len(l.byKey) }

func TestRunNeedsClientGroupConsumerAndStreams(t *testing.T) {
	t.Parallel()
	c := server.NewClient(t)
	ok := Stream{Name: "s", Key: byKey, Handle: func(context.Context, redis.XMessage) error { return nil }}
	for _, tc := range []struct {
		desc string
		p    Params
	}{
		{"no client", Params{Group: "g", Consumer: "c", Streams: []Stream{ok}}},
		{"no group", Params{Client: c, Consumer: "c", Streams: []Stream{ok}}},
		{"no consumer", Params{Client: c, Group: "g", Streams: []Stream{ok}}},
		{"no stream", Params{Client: c, Group: "g", Consumer: "c"}},
		{"stream without key", Params{Client: c, Group: "g", Consumer: "c", Streams: []Stream{{Name: "s", Handle: ok.Handle}}}},
		{"stream without handler", Params{Client: c, Group: "g", Consumer: "c", Streams: []Stream{{Name: "s", Key: byKey}}}},
	} {
		if err := Run(context.Background(), tc.p); err == nil {
			t.Errorf("%s: Run accepted it", tc.desc)
		}
	}
}

// TestKeepsOrderPerKeyWhileKeysRunInParallel: one key's entries are
// handled in stream order, and a key stuck in its handler holds up only
// the keys that share its worker.
func TestKeepsOrderPerKeyWhileKeysRunInParallel(t *testing.T) {
	t.Parallel()
	c := server.NewClient(t)
	stream := streamName(t, "s")
	release := make(chan struct{})
	var got log
	start(t, Params{Client: c, Group: "g", Consumer: "c1", Batch: 8, Workers: 4, Streams: []Stream{{
		Name: stream, Key: byKey,
		Handle: got.holding("stuck", release),
	}}})
	// The stuck key first, then four rounds over 30 keys: each key's
	// entries are spread over the stream, between other keys' entries.
	keys := []string{"stuck"}
	for round := range 4 {
		for k := range 30 {
			keys = append(keys, fmt.Sprintf("k%d", k))
		}
		if round == 0 {
			keys = append(keys, "stuck")
		}
	}
	ids := add(t, c, stream, keys...)
	want := map[string][]string{}
	for i, k := range keys {
		want[k] = append(want[k], ids[i])
	}
	// Keys sharing the stuck key's worker wait behind it (7.5 of 30 on
	// average with 4 workers); the others finish meanwhile. 10 is what
	// almost any partition gives, and a serial consumer gives none.
	waitFor(t, "other keys handled while one is stuck", func() bool { return got.keys() >= 10 })
	if got.has(ids[0]) {
		t.Fatal("the stuck key's entry was handled before its release")
	}
	close(release)
	waitFor(t, "every entry handled", func() bool { return got.len() == len(ids) })
	got.mu.Lock()
	for k, w := range want {
		if !slices.Equal(got.byKey[k], w) {
			t.Errorf("key %s handled as %v; stream order is %v", k, got.byKey[k], w)
		}
	}
	got.mu.Unlock()
	waitFor(t, "every handled entry acknowledged", func() bool { return len(pending(t, c, stream, "g")) == 0 })
}

// ackRecorder is a client hook that sees every XACK: the ids it carries,
// checked against the entries handled so far, and it can hold the first
// XACK on the wire.
type ackRecorder struct {
	handled *log
	hold    chan struct{} // the first XACK waits until release closes it
	once    sync.Once
	mu      sync.Mutex
	calls   [][]string
	early   []string // ids acknowledged before they were handled
}

func (r *ackRecorder) release() { r.once.Do(func() { close(r.hold) }) }

func (r *ackRecorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *ackRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (r *ackRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() != "xack" {
			return next(ctx, cmd)
		}
		var ids []string
		for _, a := range cmd.Args()[3:] {
			id := fmt.Sprint(a)
			ids = append(ids, id)
			if !r.handled.has(id) {
				r.mu.Lock()
				r.early = append(r.early, id)
				r.mu.Unlock()
			}
		}
		r.mu.Lock()
		r.calls = append(r.calls, ids)
		first := len(r.calls) == 1
		r.mu.Unlock()
		if first {
			<-r.hold
		}
		return next(ctx, cmd)
	}
}

// checkEachOnce fails t unless the XACKs seen carried each of ids exactly
// once, none of them before its handler returned. r.mu must be held.
func (r *ackRecorder) checkEachOnce(t *testing.T, ids []string) {
	t.Helper()
	if len(r.early) > 0 {
		t.Errorf("acknowledged before handled: %v", r.early)
	}
	var acked []string
	for _, call := range r.calls {
		acked = append(acked, call...)
	}
	slices.Sort(acked)
	if want := slices.Sorted(slices.Values(ids)); !slices.Equal(acked, want) {
		t.Errorf("acknowledged %d ids, want each of the %d once", len(acked), len(want))
	}
}

// TestAcknowledgesHandledEntriesInBatches: no entry is acknowledged before
// its handler returned, and what is handled while one XACK is on the wire
// goes out in the next one, not one XACK per entry.
func TestAcknowledgesHandledEntriesInBatches(t *testing.T) {
	t.Parallel()
	c := server.NewClient(t)
	var got log
	rec := &ackRecorder{handled: &got, hold: make(chan struct{})}
	c.AddHook(rec)
	stream := streamName(t, "s")
	start(t, Params{Client: c, Group: "g", Consumer: "c1", Batch: 64, Workers: 8, Streams: []Stream{{
		Name: stream, Key: byKey,
		Handle: got.handle,
	}}})
	t.Cleanup(rec.release) // before the stop, should the test fail first
	keys := make([]string, 200)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i%20)
	}
	ids := add(t, c, stream, keys...)
	waitFor(t, "every entry handled", func() bool { return got.len() == len(ids) })
	rec.release()
	waitFor(t, "every entry acknowledged", func() bool { return len(pending(t, c, stream, "g")) == 0 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.checkEachOnce(t, ids)
	// The first XACK took what was handled when the acker woke (maybe
	// all); everything handled while it was held goes in one more.
	if len(rec.calls) > 2 {
		t.Errorf("%d XACKs for %d entries handled while the first was held; want at most 2", len(rec.calls), len(ids))
	}
}

// TestEntriesArrivingApartShareAnXACK: entries that arrive one at a time,
// a millisecond apart, as a contact's events do, are acknowledged a few to
// an XACK rather than one each, and none before it was handled.
func TestEntriesArrivingApartShareAnXACK(t *testing.T) {
	t.Parallel()
	c := server.NewClient(t)
	var got log
	rec := &ackRecorder{handled: &got, hold: make(chan struct{})}
	rec.release() // nothing held: this test watches the linger alone
	c.AddHook(rec)
	stream := streamName(t, "s")
	// A linger far above the spacing, so a loaded machine's slow XADDs
	// still fall within it.
	start(t, Params{Client: c, Group: "g", Consumer: "c1", AckLinger: 200 * time.Millisecond,
		Streams: []Stream{{Name: stream, Key: byKey, Handle: got.handle}}})
	const n = 40
	var ids []string
	for i := range n {
		ids = append(ids, add(t, c, stream, fmt.Sprintf("k%d", i))...)
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "every entry acknowledged", func() bool { return got.len() == n && len(pending(t, c, stream, "g")) == 0 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.checkEachOnce(t, ids)
	// One each would be 40.
	if len(rec.calls) > n/4 {
		t.Errorf("%d XACKs for %d entries arriving a millisecond apart; want at most %d", len(rec.calls), n, n/4)
	}
}

// TestEntryInItsHandlerStaysPending: an entry is acknowledged when its
// handler returns, not when it is read, while the others go on. Keys share
// workers by a random hash, so some of the others may wait behind the slow
// one: the test asks only that most of them are done meanwhile.
func TestEntryInItsHandlerStaysPending(t *testing.T) {
	t.Parallel()
	c := server.NewClient(t)
	stream := streamName(t, "s")
	release := make(chan struct{})
	var got log
	start(t, Params{Client: c, Group: "g", Consumer: "c1", Workers: 16, Streams: []Stream{{
		Name: stream, Key: byKey,
		Handle: got.holding("slow", release),
	}}})
	keys := []string{"slow"}
	for k := range 16 {
		keys = append(keys, fmt.Sprintf("k%d", k))
	}
	ids := add(t, c, stream, keys...)
	// One of the 16 shares the slow key's worker on average; 7 or more
	// do about twice in a million runs.
	waitFor(t, "most other entries acknowledged", func() bool { return len(pending(t, c, stream, "g")) <= 8 })
	if p := pending(t, c, stream, "g"); p[ids[0]] != "c1" {
		t.Fatalf("pending = %v; want the slow entry %s among them, with c1", p, ids[0])
	}
	if got.has(ids[0]) {
		t.Fatal("the slow entry was handled before its release")
	}
	close(release)
	waitFor(t, "the slow entry acknowledged", func() bool { return len(pending(t, c, stream, "g")) == 0 })
	if got.len() != len(ids) {
		t.Errorf("handled %d entries; want %d", got.len(), len(ids))
	}
}

// TestLeftPendingIsClaimedByAnotherConsumer: an entry whose handler fails,
// or that a consumer read and then died with, stays pending and another
// consumer handles it after ClaimAfter; nothing else is handled twice.
func TestLeftPendingIsClaimedByAnotherConsumer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc string
		// first starts the first consumer before the entries exist; the
		// function it returns runs after they were added and says which
		// it leaves pending (the rest it handles into got).
		first func(t *testing.T, c redis.UniversalClient, stream string, got *log) func(ids []string) (left []string)
	}{
		{"handler fails", func(t *testing.T, c redis.UniversalClient, stream string, got *log) func([]string) []string {
			start(t, Params{Client: c, Group: "g", Consumer: "first", ClaimAfter: time.Hour, Streams: []Stream{{
				Name: stream, Key: byKey,
				Handle: func(_ context.Context, m redis.XMessage) error {
					if byKey(m) == "bad" {
						return errors.New("boom")
					}
					got.add(m)
					return nil
				},
			}}})
			return func(ids []string) []string { return []string{ids[1], ids[3]} }
		}},
		{"consumer dies after reading", func(t *testing.T, c redis.UniversalClient, stream string, _ *log) func([]string) []string {
			if err := c.XGroupCreateMkStream(context.Background(), stream, "g", "$").Err(); err != nil {
				t.Fatal(err)
			}
			return func(ids []string) []string {
				// A gateway that read everything and was killed before
				// it handled any: the group still holds them for it.
				if err := c.XReadGroup(context.Background(), &redis.XReadGroupArgs{Group: "g", Consumer: "first",
					Streams: []string{stream, ">"}, Count: 100}).Err(); err != nil {
					t.Fatal(err)
				}
				return ids
			}
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			c := server.NewClient(t)
			stream := streamName(t, "s")
			var first, second log
			leave := tc.first(t, c, stream, &first)
			ids := add(t, c, stream, "a", "bad", "b", "bad", "c")
			bad := leave(ids)
			waitFor(t, "the first consumer done with what it could", func() bool {
				return first.len()+len(bad) == len(ids) && len(pending(t, c, stream, "g")) == len(bad)
			})
			for id, who := range pending(t, c, stream, "g") {
				if who != "first" || !slices.Contains(bad, id) {
					t.Fatalf("entry %s pending with %s; want only %v, with first", id, who, bad)
				}
			}
			start(t, Params{Client: c, Group: "g", Consumer: "second", ClaimAfter: 300 * time.Millisecond, Streams: []Stream{{
				Name: stream, Key: byKey,
				Handle: second.handle,
			}}})
			waitFor(t, "the second consumer to handle what was left", func() bool { return len(pending(t, c, stream, "g")) == 0 })
			second.mu.Lock()
			defer second.mu.Unlock()
			first.mu.Lock()
			defer first.mu.Unlock()
			if got := slices.Sorted(slices.Values(second.ids)); !slices.Equal(got, bad) {
				t.Errorf("second consumer handled %v; want %v", got, bad)
			}
			for _, id := range first.ids {
				if slices.Contains(second.ids, id) {
					t.Errorf("entry %s handled by both consumers", id)
				}
			}
		})
	}
}

// TestStopLosesNothing: Run returns with every entry it handled
// acknowledged; what it read and did not handle stays pending, and
// another consumer handles exactly that.
func TestStopLosesNothing(t *testing.T) {
	t.Parallel()
	c := server.NewClient(t)
	stream := streamName(t, "s")
	var first, second log
	slow := func(got *log) func(context.Context, redis.XMessage) error {
		return func(_ context.Context, m redis.XMessage) error {
			// Ignores ctx, as a handler in the middle of its Redis calls
			// would finish them: entries in flight at the stop complete.
			time.Sleep(2 * time.Millisecond)
			got.add(m)
			return nil
		}
	}
	stop := start(t, Params{Client: c, Group: "g", Consumer: "first", Batch: 16, Workers: 2,
		Streams: []Stream{{Name: stream, Key: byKey, Handle: slow(&first)}}})
	keys := make([]string, 300)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i%10)
	}
	ids := add(t, c, stream, keys...)
	waitFor(t, "the first consumer under way", func() bool { return first.len() >= 30 })
	stop()
	left := pending(t, c, stream, "g")
	first.mu.Lock()
	handledFirst := slices.Clone(first.ids)
	first.mu.Unlock()
	if len(handledFirst) == len(ids) {
		t.Fatal("the first consumer handled everything before the stop; the test proves nothing")
	}
	for _, id := range handledFirst {
		if _, ok := left[id]; ok {
			t.Errorf("entry %s handled but still pending after Run returned", id)
		}
	}
	start(t, Params{Client: c, Group: "g", Consumer: "second", ClaimAfter: 200 * time.Millisecond,
		Streams: []Stream{{Name: stream, Key: byKey, Handle: slow(&second)}}})
	waitFor(t, "every entry handled by one of them", func() bool { return len(handledFirst)+second.len() >= len(ids) })
	waitFor(t, "nothing pending", func() bool { return len(pending(t, c, stream, "g")) == 0 })
	second.mu.Lock()
	defer second.mu.Unlock()
	all := append(slices.Clone(handledFirst), second.ids...)
	slices.Sort(all)
	if !slices.Equal(all, slices.Sorted(slices.Values(ids))) {
		t.Errorf("handled %d entries (%d + %d); want each of the %d exactly once",
			len(all), len(handledFirst), len(second.ids), len(ids))
	}
}

// TestReadsSeveralStreamsInOneGroup: each stream's entries reach its own
// handler and are acknowledged on their own stream.
func TestReadsSeveralStreamsInOneGroup(t *testing.T) {
	t.Parallel()
	c := server.NewClient(t)
	tag := streamName(t, "")
	s1, s2 := tag+"one", tag+"two"
	var got1, got2 log
	start(t, Params{Client: c, Group: "g", Consumer: "c1", Streams: []Stream{
		{Name: s1, Key: byKey, Handle: got1.handle},
		{Name: s2, Key: byKey, Handle: got2.handle},
	}})
	ids1 := add(t, c, s1, "a", "b", "a")
	ids2 := add(t, c, s2, "a", "c")
	waitFor(t, "both streams handled and acknowledged", func() bool {
		return got1.len() == len(ids1) && got2.len() == len(ids2) &&
			len(pending(t, c, s1, "g")) == 0 && len(pending(t, c, s2, "g")) == 0
	})
	for _, id := range ids1 {
		if !got1.has(id) {
			t.Errorf("entry %s of the first stream not handled by its handler", id)
		}
	}
	for _, id := range ids2 {
		if !got2.has(id) {
			t.Errorf("entry %s of the second stream not handled by its handler", id)
		}
	}
}

// TestMakesTheGroupAgainWhenTheStreamIsGone: a deleted stream (FLUSHALL,
// a restore) does not stop the consumer; entries written after the group
// is back are handled.
func TestMakesTheGroupAgainWhenTheStreamIsGone(t *testing.T) {
	t.Parallel()
	c := server.NewClient(t)
	stream := streamName(t, "s")
	var got log
	start(t, Params{Client: c, Group: "g", Consumer: "c1", Streams: []Stream{{
		Name: stream, Key: byKey, Handle: got.handle,
	}}})
	add(t, c, stream, "a")
	waitFor(t, "the first entry handled", func() bool { return got.len() == 1 })
	if err := c.Del(context.Background(), stream).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the group made again", func() bool {
		groups, _ := c.XInfoGroups(context.Background(), stream).Result()
		return len(groups) == 1
	})
	ids := add(t, c, stream, "b")
	waitFor(t, "the entry after the group came back handled", func() bool { return got.has(ids[0]) })
}

// TestReadLingerReadsEntriesArrivingApartTogether: with ReadLinger, entries
// written one at a time are read in batches, about one read per linger
// rather than one per entry, and each is still handled once.
func TestReadLingerReadsEntriesArrivingApartTogether(t *testing.T) {
	t.Parallel()
	c := server.NewClient(t)
	reads := &redistest.Counter{}
	c.AddHook(reads)
	var got log
	stream := streamName(t, "s")
	const linger = 50 * time.Millisecond
	start(t, Params{Client: c, Group: "g", Consumer: "c1", ReadLinger: linger,
		Streams: []Stream{{Name: stream, Key: byKey, Handle: got.handle}}})
	const n = 40
	before := reads.Alone("xreadgroup")
	began := time.Now()
	var ids []string
	for i := range n {
		ids = append(ids, add(t, c, stream, fmt.Sprintf("k%d", i))...)
		time.Sleep(2 * time.Millisecond)
	}
	waitFor(t, "every entry handled", func() bool { return got.len() == n })
	took := time.Since(began)
	for _, id := range ids {
		if !got.has(id) {
			t.Errorf("entry %s not handled", id)
		}
	}
	if got.len() != n {
		t.Errorf("%d entries handled, want %d (each once)", got.len(), n)
	}
	// One read per linger while they arrived, and the blocking read that
	// was waiting when the first came: read one by one it would be 40.
	if r, most := reads.Alone("xreadgroup")-before, int64(took/linger)+2; r > most {
		t.Errorf("%d reads for %d entries arriving over %v; want at most %d", r, n, took.Round(time.Millisecond), most)
	}
}
