package conversation

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"
)

var streamIDPattern = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// Transcript returns up to limit entries (1..500; zero means 100) after
// the entry id after, oldest first. An empty after starts at the beginning;
// a client that reconnects passes the last id it saw and misses nothing.
func (s *Service) Transcript(ctx context.Context, convID, after string, limit int) ([]Entry, error) {
	if after != "" && !streamIDPattern.MatchString(after) {
		return nil, fmt.Errorf("conversation: transcript: %w", &FieldError{Field: "after", Reason: "must be an entry id like 1700000000000-0"})
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 500)
	n, err := s.rdb.Exists(ctx, s.k.conv(convID)).Result()
	if err != nil {
		return nil, fmt.Errorf("conversation: transcript %s: %w", convID, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("conversation: %s: %w", convID, ErrNotFound)
	}
	start := "-"
	if after != "" {
		start = "(" + after
	}
	msgs, err := s.rdb.XRangeN(ctx, s.k.convLog(convID), start, "+", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("conversation: transcript %s: %w", convID, err)
	}
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, entryFromStream(m.ID, m.Values))
	}
	return out, nil
}

// Recent returns the last limit entries of the transcript (at most 500),
// oldest first: what a list preview or an offer needs, without reading a
// long conversation from its start.
func (s *Service) Recent(ctx context.Context, convID string, limit int) ([]Entry, error) {
	out, err := s.RecentOf(ctx, []string{convID}, limit)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// RecentRead is one read of Recent that may ride in the pipeline of
// another read of this service (CustomerAlong), so a console's view of a
// conversation, its customer and last lines, costs one round trip.
type RecentRead struct {
	s      *Service
	convID string
	limit  int
	cmd    *redis.XMessageSliceCmd
}

// ReadRecent prepares a RecentRead of Recent(convID, limit).
func (s *Service) ReadRecent(convID string, limit int) *RecentRead {
	if limit <= 0 {
		limit = 20
	}
	return &RecentRead{s: s, convID: convID, limit: min(limit, 500)}
}

// Pipe queues the read on p when c is this service's client.
func (r *RecentRead) Pipe(ctx context.Context, c redis.UniversalClient, p redis.Pipeliner) bool {
	if c != r.s.rdb {
		return false
	}
	r.cmd = p.XRevRangeN(ctx, r.s.k.convLog(r.convID), "+", "-", int64(r.limit))
	return true
}

// Result is what Recent answers: from the pipeline when it rode in one,
// else read now.
func (r *RecentRead) Result(ctx context.Context) ([]Entry, error) {
	if r.cmd == nil {
		return r.s.Recent(ctx, r.convID, r.limit)
	}
	msgs, err := r.cmd.Result()
	if err != nil {
		return nil, fmt.Errorf("conversation: recent entries of %s: %w", r.convID, err)
	}
	return oldestFirst(msgs), nil
}

// oldestFirst turns an XREVRANGE answer into entries, oldest first.
func oldestFirst(msgs []redis.XMessage) []Entry {
	out := make([]Entry, len(msgs))
	for j, m := range msgs {
		out[len(msgs)-1-j] = entryFromStream(m.ID, m.Values)
	}
	return out
}

// RecentOf is Recent for several conversations in one round trip (a voice
// offer previews the caller's earlier conversations): out[i] belongs to
// convIDs[i].
func (s *Service) RecentOf(ctx context.Context, convIDs []string, limit int) ([][]Entry, error) {
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 500)
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(convIDs))
	for i, id := range convIDs {
		cmds[i] = pipe.XRevRangeN(ctx, s.k.convLog(id), "+", "-", int64(limit))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("conversation: recent entries of %s: %w", strings.Join(convIDs, ", "), err)
	}
	out := make([][]Entry, len(convIDs))
	for i, cmd := range cmds {
		out[i] = oldestFirst(cmd.Val())
	}
	return out, nil
}
