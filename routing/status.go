package routing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// AgentStatus is an agent as routing sees it now.
type AgentStatus struct {
	ID, Name string
	State    AgentState
	Reason   string
	Since    time.Time // when State was set
	// Busy: available but with no free capacity on any channel.
	Busy      bool
	Skills    []string
	Queues    []string
	Capacity  map[string]int
	Load      map[string]int // offered or active (or in wrap-up) per channel
	IdleSince time.Time      // last offer or becoming available
	WrapUntil time.Time      // no call before this
	Missed    int            // consecutive lapsed offers
	// VoiceShared and MaxMissedOffers are the agent's settings as stored
	// (MaxMissedOffers 0: never set away), so a change of other settings
	// through UpsertAgent can keep them.
	VoiceShared     bool
	MaxMissedOffers int
	// Conversations offered to, held by or in wrap-up with the agent.
	Conversations []string
}

// ConvState is where a conversation is in routing.
type ConvState string

// Conversation states; a conversation is in exactly one.
const (
	ConvWaiting   ConvState = "waiting"
	ConvOffered   ConvState = "offered"
	ConvActive    ConvState = "active"
	ConvWrapUp    ConvState = "wrapup"
	ConvClosed    ConvState = "closed"
	ConvAbandoned ConvState = "abandoned"
)

// ConvStatus is a conversation's routing state.
type ConvStatus struct {
	ID         string
	State      ConvState
	Queue      string
	Channel    string
	CustomerID string
	AgentID    string // offered to or held by
	Priority   int    // effective, boosts and queue priority included
	Skills     []string
	EnqueuedAt time.Time
	OfferedAt  time.Time
	Deadline   time.Time // of the open offer
	AcceptedAt time.Time
	ClosedAt   time.Time
	// OverflowQueue is set once the conversation waited past its queue's
	// limit and the overflow queue's agents may take it too.
	OverflowQueue string
	// Estimate is the last one recorded with RecordEstimate, if any.
	Estimate *Estimate
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

func agentFrom(id string, h map[string]string, convs []string) AgentStatus {
	a := AgentStatus{
		ID: id, Name: h["name"], State: AgentState(h["state"]), Reason: h["reason"],
		Since: ms(h["state_since"]), Skills: splitList(h["skills"]), Queues: splitList(h["queues"]),
		Capacity: map[string]int{}, Load: map[string]int{},
		IdleSince: ms(h["idle_since"]), WrapUntil: ms(h["wrap_until"]), Missed: atoi(h["missed"]),
		VoiceShared: h["excl"] == "0", MaxMissedOffers: atoi(h["max_missed"]),
		Conversations: convs,
	}
	free := false
	for _, ch := range channels {
		a.Capacity[ch] = atoi(h["cap:"+ch])
		a.Load[ch] = atoi(h["load:"+ch])
		if a.Load[ch] < a.Capacity[ch] {
			free = true
		}
	}
	if h["excl"] == "1" && a.Load[chVoice] > 0 {
		free = false
	}
	a.Busy = a.State == StateAvailable && !free
	slices.Sort(a.Conversations)
	return a
}

// Config returns the settings UpsertAgent needs to keep the agent as it
// is, so a caller changing some settings keeps the others.
func (a AgentStatus) Config() AgentConfig {
	missed := a.MaxMissedOffers
	if missed == 0 {
		missed = -1 // stored 0 is "never"; 0 in an AgentConfig means the default
	}
	return AgentConfig{
		ID: a.ID, Name: a.Name, Skills: slices.Clone(a.Skills), Queues: slices.Clone(a.Queues),
		Capacity: maps.Clone(a.Capacity), VoiceShared: a.VoiceShared, MaxMissedOffers: missed,
	}
}

// Agent returns one agent's status.
func (e *Engine) Agent(ctx context.Context, id string) (AgentStatus, error) {
	var h *redis.MapStringStringCmd
	var cs *redis.StringSliceCmd
	_, err := e.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, e.k.agent(id))
		cs = p.SMembers(ctx, e.k.agentConvs(id))
		return nil
	})
	if err != nil {
		return AgentStatus{}, fmt.Errorf("routing: agent %s: %w", id, err)
	}
	if len(h.Val()) == 0 {
		return AgentStatus{}, fmt.Errorf("routing: agent %s: %w", id, ErrNotFound)
	}
	return agentFrom(id, h.Val(), cs.Val()), nil
}

// Agents returns every agent's status, ordered by id.
func (e *Engine) Agents(ctx context.Context) ([]AgentStatus, error) {
	ids, err := e.c.SMembers(ctx, e.k.agents()).Result()
	if err != nil {
		return nil, fmt.Errorf("routing: agents: %w", err)
	}
	slices.Sort(ids)
	hs := make([]*redis.MapStringStringCmd, len(ids))
	cs := make([]*redis.StringSliceCmd, len(ids))
	_, err = e.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			hs[i] = p.HGetAll(ctx, e.k.agent(id))
			cs[i] = p.SMembers(ctx, e.k.agentConvs(id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("routing: agents: %w", err)
	}
	out := make([]AgentStatus, 0, len(ids))
	for i, id := range ids {
		if len(hs[i].Val()) > 0 {
			out = append(out, agentFrom(id, hs[i].Val(), cs[i].Val()))
		}
	}
	return out, nil
}

func convFrom(id string, h map[string]string) ConvStatus {
	c := ConvStatus{
		ID: id, State: ConvState(h["state"]), Queue: h["queue"], Channel: h["channel"],
		CustomerID: h["customer"], AgentID: h["agent"], Priority: atoi(h["prio"]),
		Skills: splitList(h["skills"]), EnqueuedAt: ms(h["enq"]), OfferedAt: ms(h["offered_at"]),
		Deadline: ms(h["deadline"]), AcceptedAt: ms(h["accepted_at"]), ClosedAt: ms(h["closed_at"]),
		OverflowQueue: h["ovfq"],
	}
	if h["est_at"] != "" {
		c.Estimate = &Estimate{Low: dur(h["est_low"]), High: dur(h["est_high"]), Enough: h["est_enough"] == "1"}
	}
	return c
}

// Conversation returns one conversation's routing state. Finished ones are
// kept for Params.Retention.
func (e *Engine) Conversation(ctx context.Context, id string) (ConvStatus, error) {
	h, err := e.c.HGetAll(ctx, e.k.conv(id)).Result()
	if err != nil {
		return ConvStatus{}, fmt.Errorf("routing: conversation %s: %w", id, err)
	}
	if len(h) == 0 {
		return ConvStatus{}, fmt.Errorf("routing: conversation %s: %w", id, ErrNotFound)
	}
	return convFrom(id, h), nil
}

// Position is a waiting conversation's 1-based place in its queue, in the
// order Waiting lists (priority, then enqueue time, across channels); ok
// is false when it is not waiting. It counts with ZCOUNT instead of
// reading the queue, so asking is cheap however long the line.
func (e *Engine) Position(ctx context.Context, id string) (pos int, ok bool, err error) {
	f, err := e.c.HMGet(ctx, e.k.conv(id), "state", "queue", "channel").Result()
	if err != nil {
		return 0, false, fmt.Errorf("routing: position of %s: %w", id, err)
	}
	state, _ := f[0].(string)
	queue, _ := f[1].(string)
	channel, _ := f[2].(string)
	return e.PositionOf(ctx, ConvStatus{ID: id, State: ConvState(state), Queue: queue, Channel: channel})
}

// PositionOf is Position for a caller that has just read the conversation:
// st is what Conversation returned (its ID, State, Queue and Channel are
// used). A conversation that is not waiting costs no read at all, a waiting
// one no second read of its state.
func (e *Engine) PositionOf(ctx context.Context, st ConvStatus) (pos int, ok bool, err error) {
	if st.State != ConvWaiting {
		return 0, false, nil
	}
	id, queue := st.ID, st.Queue
	score, err := e.c.ZScore(ctx, e.k.queue(queue, st.Channel), id).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil // taken between the two reads
	}
	if err != nil {
		return 0, false, fmt.Errorf("routing: position of %s: %w", id, err)
	}
	ahead := make([]*redis.IntCmd, len(channels))
	_, err = e.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ch := range channels {
			ahead[i] = p.ZCount(ctx, e.k.queue(queue, ch), "-inf", "("+strconv.FormatFloat(score, 'f', -1, 64))
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("routing: position of %s: %w", id, err)
	}
	pos = 1
	for _, c := range ahead {
		pos += int(c.Val())
	}
	return pos, true, nil
}

// Positions is the 1-based place of every conversation waiting in queue,
// in the order Position counts, from one pipelined read of the queue's
// per-channel lines. It is how a gateway tells all its waiting visitors
// their places with one read per queue change, instead of one Position per
// visitor.
func (e *Engine) Positions(ctx context.Context, queue string) (map[string]int, error) {
	if _, ok := e.queues[queue]; !ok {
		return nil, fmt.Errorf("routing: positions in %q: %w", queue, ErrUnknownQueue)
	}
	zs := make([]*redis.ZSliceCmd, len(channels))
	_, err := e.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ch := range channels {
			zs[i] = p.ZRangeWithScores(ctx, e.k.queue(queue, ch), 0, -1)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("routing: positions in %s: %w", queue, err)
	}
	type entry struct {
		id    string
		score float64
	}
	var all []entry
	for _, z := range zs {
		for _, m := range z.Val() {
			all = append(all, entry{m.Member.(string), m.Score})
		}
	}
	slices.SortStableFunc(all, func(a, b entry) int { return cmp.Compare(a.score, b.score) })
	out := make(map[string]int, len(all))
	for i, en := range all {
		out[en.id] = i + 1
	}
	return out, nil
}

// Waiting lists a queue's waiting conversations in the order they will be
// served: priority, then enqueue time (across channels). Conversations that
// overflowed into the queue from others are not included.
func (e *Engine) Waiting(ctx context.Context, queue string) ([]ConvStatus, error) {
	if _, ok := e.queues[queue]; !ok {
		return nil, fmt.Errorf("routing: waiting in %q: %w", queue, ErrUnknownQueue)
	}
	type entry struct {
		id    string
		score float64
	}
	var all []entry
	zs := make([]*redis.ZSliceCmd, len(channels))
	_, err := e.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ch := range channels {
			zs[i] = p.ZRangeWithScores(ctx, e.k.queue(queue, ch), 0, -1)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("routing: waiting in %s: %w", queue, err)
	}
	for _, z := range zs {
		for _, m := range z.Val() {
			all = append(all, entry{m.Member.(string), m.Score})
		}
	}
	slices.SortFunc(all, func(a, b entry) int { return cmp.Compare(a.score, b.score) })
	hs := make([]*redis.MapStringStringCmd, len(all))
	_, err = e.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, en := range all {
			hs[i] = p.HGetAll(ctx, e.k.conv(en.id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("routing: waiting in %s: %w", queue, err)
	}
	out := make([]ConvStatus, 0, len(all))
	for i, en := range all {
		out = append(out, convFrom(en.id, hs[i].Val()))
	}
	return out, nil
}

// Serves reports whether the agent is available to take conversations of
// queue q on channel now: available (busy or not), serving the queue (no
// queues listed means all), with every skill the queue asks for and some
// capacity on the channel. Channels use it to tell customers honestly
// whether anyone is there.
func (a AgentStatus) Serves(q QueueConfig, channel string) bool {
	if a.State != StateAvailable || a.Capacity[channel] <= 0 {
		return false
	}
	if len(a.Queues) > 0 && !slices.Contains(a.Queues, q.Name) {
		return false
	}
	for _, s := range q.Skills {
		if !slices.Contains(a.Skills, s) {
			return false
		}
	}
	return true
}
