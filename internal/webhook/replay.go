package webhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Delivery is one outcome in an endpoint's log, newest first in the admin
// view.
type Delivery struct {
	// EventID is the envelope id; replay a delivery by it.
	EventID  string    `json:"event_id"`
	Type     string    `json:"type"`
	Status   string    `json:"status"` // delivered, retrying, failed, dead
	Code     int       `json:"response_code,omitempty"`
	Latency  int64     `json:"latency_ms"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
}

// Deliveries returns the endpoint's most recent outcomes, newest first.
func (s *Service) Deliveries(ctx context.Context, ep string, limit int) ([]Delivery, error) {
	if _, err := s.Endpoint(ctx, ep); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > logCap {
		limit = 100
	}
	msgs, err := s.rdb.XRevRangeN(ctx, s.k.log(ep), "+", "-", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("webhook: deliveries of %s: %w", ep, err)
	}
	out := make([]Delivery, 0, len(msgs))
	for _, m := range msgs {
		f := func(k string) string { v, _ := m.Values[k].(string); return v }
		code, _ := strconv.Atoi(f("code"))
		lat, _ := strconv.ParseInt(f("latency_ms"), 10, 64)
		att, _ := strconv.Atoi(f("attempts"))
		out = append(out, Delivery{EventID: f("event"), Type: f("type"), Status: f("status"), Code: code,
			Latency: lat, Attempts: att, Error: f("error"), At: fromMS(f("last_at"))})
	}
	return out, nil
}

// ErrAlreadyQueued is returned when replaying an event that is still
// waiting to be delivered.
var ErrAlreadyQueued = errors.New("webhook: event still queued")

// Replay sends one earlier event to the endpoint again, with the same id
// (a receiver that has it drops it). Finished deliveries can be replayed
// for 7 days.
func (s *Service) Replay(ctx context.Context, ep, eventID string) error {
	if _, err := s.Endpoint(ctx, ep); err != nil {
		return err
	}
	d, err := s.rdb.HGetAll(ctx, s.k.delivery(ep, eventID)).Result()
	if err != nil {
		return fmt.Errorf("webhook: replay %s: %w", eventID, err)
	}
	if len(d) == 0 {
		return fmt.Errorf("webhook: delivery %s of %s: %w", eventID, ep, ErrNotFound)
	}
	n, err := s.enqueueRaw(ctx, ep, eventID, d["type"], d["key"], []byte(d["body"]), true)
	if err != nil {
		return err
	}
	if n == 2 {
		return fmt.Errorf("webhook: replay %s: %w", eventID, ErrAlreadyQueued)
	}
	s.poke()
	return nil
}

// replayLimit bounds one "replay since" per stream: the streams are
// capped anyway.
const replayLimit = 100_000

// ReplaySince queues again every event since t that the endpoint wants,
// from routing's event stream and the other sources' streams (as far back
// as their caps keep), oldest first, and returns how many were queued.
func (s *Service) ReplaySince(ctx context.Context, ep string, since time.Time) (int, error) {
	e, err := s.Endpoint(ctx, ep)
	if err != nil {
		return 0, err
	}
	if s.p.Routing == nil {
		return 0, errors.New("webhook: replay needs Params.Routing")
	}
	// Stream ids are "<ms>-<seq>"; start just before since's millisecond.
	after := strconv.FormatInt(since.UnixMilli()-1, 10) + "-18446744073709551615"
	var found []replayed
	for seen := 0; seen < replayLimit; {
		evs, err := s.p.Routing.Events(ctx, after, 1000)
		if err != nil {
			return 0, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			found = append(found, replayed{id: ev.ID, envs: fromRouting(s.p.Workspace, ev)})
		}
		seen += len(evs)
		after = evs[len(evs)-1].ID
	}
	for _, src := range s.sources() {
		start := "(" + strconv.FormatInt(since.UnixMilli()-1, 10) + "-18446744073709551615"
		for seen := 0; seen < replayLimit; {
			msgs, err := s.rdb.XRangeN(ctx, src.stream, start, "+", 1000).Result()
			if err != nil {
				return 0, fmt.Errorf("webhook: replay %s: %w", src.stream, err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				envs, err := src.envelopes(ctx, m.ID, m.Values)
				if err != nil {
					return 0, err
				}
				found = append(found, replayed{id: m.ID, envs: envs})
			}
			seen += len(msgs)
			start = "(" + msgs[len(msgs)-1].ID
		}
	}
	// One order across the streams: by the time Redis gave each id (all
	// streams of a workspace live on one server).
	slices.SortStableFunc(found, func(a, b replayed) int { return compareIDs(a.id, b.id) })
	queued := 0
	for _, f := range found {
		for _, env := range f.envs {
			if !e.wants(env.Type) {
				continue
			}
			n, err := s.enqueue(ctx, ep, env, true)
			if err != nil {
				return queued, err
			}
			if n == 1 {
				queued++
			}
		}
	}
	s.poke()
	return queued, nil
}

// replayed is one stream entry's envelopes, by its stream id.
type replayed struct {
	id   string
	envs []Envelope
}

// compareIDs orders stream ids "<ms>-<seq>" by time, then sequence.
func compareIDs(a, b string) int {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	an, _ := strconv.ParseUint(am, 10, 64)
	bn, _ := strconv.ParseUint(bm, 10, 64)
	if c := cmp.Compare(an, bn); c != 0 {
		return c
	}
	ax, _ := strconv.ParseUint(as, 10, 64)
	bx, _ := strconv.ParseUint(bs, 10, 64)
	return cmp.Compare(ax, bx)
}

// Ping queues a "ping" event for one endpoint, so an admin can check the
// URL and the signature without waiting for real traffic.
func (s *Service) Ping(ctx context.Context, ep string) (string, error) {
	if _, err := s.Endpoint(ctx, ep); err != nil {
		return "", err
	}
	env := Envelope{ID: newID("evt_ping_"), Type: TypePing, OccurredAt: s.now().UTC(), Workspace: s.p.Workspace,
		Data: Data{Message: "Test event from Switchboard"}, key: "ping"}
	if _, err := s.enqueue(ctx, ep, env, false); err != nil {
		return "", err
	}
	s.poke()
	return env.ID, nil
}

// Backlog is how many deliveries are waiting per endpoint (heads of
// ordering lists due or scheduled), for metrics.
func (s *Service) Backlog(ctx context.Context) (map[string]int, error) {
	members, err := s.rdb.ZRange(ctx, s.k.due(), 0, -1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := map[string]int{}
	for _, m := range members {
		for i := 0; i < len(m); i++ {
			if m[i] == '|' {
				out[m[:i]]++
				break
			}
		}
	}
	return out, nil
}
