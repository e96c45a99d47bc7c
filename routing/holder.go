package routing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// HolderRead is one read of who holds a conversation and in which state:
// the two fields every "may this person act on it" check needs, and when
// the holder accepted it (a close's handle time). Another
// service sharing routing's Redis may queue it in a pipeline of its own
// read (Pipe), so one round trip answers both; otherwise Result reads it
// alone.
type HolderRead struct {
	e   *Engine
	id  string
	cmd *redis.SliceCmd
}

// ReadHolder prepares a HolderRead of conversation id.
func (e *Engine) ReadHolder(id string) *HolderRead { return &HolderRead{e: e, id: id} }

// Pipe queues the read on p, a pipeline of c, when c is the client routing
// reads from, and reports whether it did. Result then answers from the
// pipeline once it has run.
func (r *HolderRead) Pipe(ctx context.Context, c redis.UniversalClient, p redis.Pipeliner) bool {
	if c != r.e.c {
		return false
	}
	r.cmd = p.HMGet(ctx, r.e.k.conv(r.id), holderFields...)
	return true
}

// Result is the agent the conversation is offered to or held by (or who
// held it last) and its routing state; ErrNotFound when routing does not
// know the conversation (never enqueued, or forgotten after Retention).
func (r *HolderRead) Result(ctx context.Context) (agentID string, st ConvState, err error) {
	if r.cmd == nil {
		r.cmd = r.e.c.HMGet(ctx, r.e.k.conv(r.id), holderFields...)
	}
	f, err := r.cmd.Result()
	if err != nil {
		return "", "", fmt.Errorf("routing: conversation %s: %w", r.id, err)
	}
	state, _ := f[0].(string)
	agentID, _ = f[1].(string)
	if state == "" {
		return "", "", fmt.Errorf("routing: conversation %s: %w", r.id, ErrNotFound)
	}
	return agentID, ConvState(state), nil
}

// holderFields are what a HolderRead reads of the conversation's hash.
var holderFields = []string{"state", "agent", "accepted_at"}

// AcceptedAt is when the holder accepted the conversation, as routing
// recorded it; zero unless routing has it active, or in wrap-up, with that
// agent (an accept of a conversation routing let go may be of an earlier
// visit). Call it after Result, which reads.
func (r *HolderRead) AcceptedAt() time.Time {
	if r.cmd == nil {
		return time.Time{}
	}
	f, err := r.cmd.Result()
	if err != nil || len(f) < 3 {
		return time.Time{}
	}
	if st, _ := f[0].(string); ConvState(st) != ConvActive && ConvState(st) != ConvWrapUp {
		return time.Time{}
	}
	s, _ := f[2].(string)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// AgentName is the agent's name as routing knows it (from the
// configuration file, or the account at first login): "" when routing
// knows no name or no such agent. One field, for the consoles' transcript
// lines, instead of the whole status Agent reads.
func (e *Engine) AgentName(ctx context.Context, id string) (string, error) {
	name, err := e.c.HGet(ctx, e.k.agent(id), "name").Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("routing: agent %s: %w", id, err)
	}
	return name, nil
}
