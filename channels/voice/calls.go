package voice

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The states of a call. A call that is not in our Twilio queue is never
// dequeued, and one that left for a callback is never abandoned.
const (
	// stateWaiting: in the Twilio queue, waiting for an agent.
	stateWaiting = "waiting"
	// stateConnecting: an agent accepted; the caller is being dequeued and
	// the agent's phone rings.
	stateConnecting = "connecting"
	// stateConnected: the agent answered; they talk.
	stateConnected = "connected"
	// stateCallback: the caller hung up to be called back; the
	// conversation still waits in our queue at its place.
	stateCallback = "callback"
	// stateCallbackDialing: an agent accepted the callback; the agent's
	// leg rings or the customer is being dialled.
	stateCallbackDialing = "callback_dialing"
	// stateCallbackDue: an attempt found no one; the next is scheduled.
	stateCallbackDue = "callback_due"
	// stateVoicemail: after hours, recording a message.
	stateVoicemail = "voicemail"
	// stateEnded: nothing more happens on the call.
	stateEnded = "ended"
)

// callTTL keeps a call's state well past any callback retry.
const callTTL = 72 * time.Hour

// callState is one call, as kept in its Redis hash.
type callState struct {
	Sid   string
	Conv  string
	Queue string
	// From is the caller; To is our number they called.
	From, To string
	State    string
	// Enqueued is when the caller joined our queue; it is the place kept
	// by a callback.
	Enqueued time.Time
	// QueueSid is the Twilio queue holding the call, learnt from the wait
	// URL; the dequeue needs it.
	QueueSid string
	// ToldPlace is the last place announced; ToldAt when. A later
	// announcement never names a worse place.
	ToldPlace int
	ToldAt    time.Time
	// Offered is when the callback was last offered.
	Offered time.Time
	// Agent is the agent the call goes to once accepted; AcceptedAt when.
	Agent      string
	AcceptedAt time.Time
	AnsweredAt time.Time
	// Attempts counts callback attempts that reached the customer's phone.
	Attempts int
	// ResumedFrom is the booked callback this call took over (the caller
	// called again while waiting for it); hanging up gives it back.
	ResumedFrom string
}

func (c callState) fields() map[string]any {
	return map[string]any{
		"conv": c.Conv, "queue": c.Queue, "from": c.From, "to": c.To, "state": c.State,
		"enqueued": ms(c.Enqueued), "queue_sid": c.QueueSid, "told_place": c.ToldPlace, "told_at": ms(c.ToldAt),
		"offered": ms(c.Offered), "agent": c.Agent, "accepted_at": ms(c.AcceptedAt), "answered_at": ms(c.AnsweredAt),
		"attempts": c.Attempts, "resumed_from": c.ResumedFrom,
	}
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

// calls keeps call state in Redis.
type calls struct {
	rdb redis.UniversalClient
	ws  string
}

//go:embed lua/transition.lua
var transitionSource string

var transitionScript = redis.NewScript(transitionSource)

// create stores a new call and maps its conversation to it. It returns
// false, storing nothing, when the call exists (a retried webhook).
func (s calls) create(ctx context.Context, c callState) (bool, error) {
	key := callKey(s.ws, c.Sid)
	created, err := s.rdb.HSetNX(ctx, key, "state", c.State).Result()
	if err != nil {
		return false, fmt.Errorf("voice: store call %s: %w", c.Sid, err)
	}
	if !created {
		return false, nil
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, c.fields())
		p.Expire(ctx, key, callTTL)
		if c.Conv != "" {
			p.Set(ctx, convKey(s.ws, c.Conv), c.Sid, callTTL)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("voice: store call %s: %w", c.Sid, err)
	}
	return true, nil
}

// get loads a call; ok is false for an unknown CallSid.
func (s calls) get(ctx context.Context, sid string) (callState, bool, error) {
	m, err := s.rdb.HGetAll(ctx, callKey(s.ws, sid)).Result()
	if err != nil {
		return callState{}, false, fmt.Errorf("voice: load call %s: %w", sid, err)
	}
	if len(m) == 0 || m["state"] == "" {
		return callState{}, false, nil
	}
	place, _ := strconv.Atoi(m["told_place"])
	attempts, _ := strconv.Atoi(m["attempts"])
	return callState{
		Sid: sid, Conv: m["conv"], Queue: m["queue"], From: m["from"], To: m["to"], State: m["state"],
		Enqueued: fromMS(m["enqueued"]), QueueSid: m["queue_sid"], ToldPlace: place, ToldAt: fromMS(m["told_at"]),
		Offered: fromMS(m["offered"]), Agent: m["agent"], AcceptedAt: fromMS(m["accepted_at"]),
		AnsweredAt: fromMS(m["answered_at"]), Attempts: attempts, ResumedFrom: m["resumed_from"],
	}, true, nil
}

// byConversation is the call of a conversation; ok is false when the
// conversation has none (not a call, or its state expired).
func (s calls) byConversation(ctx context.Context, conv string) (callState, bool, error) {
	sid, err := s.rdb.Get(ctx, convKey(s.ws, conv)).Result()
	if errors.Is(err, redis.Nil) {
		return callState{}, false, nil
	}
	if err != nil {
		return callState{}, false, fmt.Errorf("voice: call of conversation %s: %w", conv, err)
	}
	return s.get(ctx, sid)
}

// linkConversation maps conv to the call (voicemail: the conversation is
// opened after the call was stored).
func (s calls) linkConversation(ctx context.Context, sid, conv string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, callKey(s.ws, sid), "conv", conv)
		p.Set(ctx, convKey(s.ws, conv), sid, callTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("voice: link call %s to %s: %w", sid, conv, err)
	}
	return nil
}

// set writes fields of a call that exists, whatever its state.
func (s calls) set(ctx context.Context, sid string, kv ...any) error {
	if err := s.rdb.HSet(ctx, callKey(s.ws, sid), kv...).Err(); err != nil {
		return fmt.Errorf("voice: update call %s: %w", sid, err)
	}
	return nil
}

// move changes the call's state to `to` if it is in one of from, setting
// kv along with it. It reports the state it was in, or "" when it was in
// none of from (another webhook got there first) or is unknown.
func (s calls) move(ctx context.Context, sid string, from []string, to string, kv ...any) (string, error) {
	args := make([]any, 0, 3+len(from)+len(kv))
	args = append(args, to, int64(callTTL/time.Second), len(from))
	for _, f := range from {
		args = append(args, f)
	}
	args = append(args, kv...)
	prev, err := transitionScript.Run(ctx, s.rdb, []string{callKey(s.ws, sid)}, args...).Text()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("voice: call %s to %s: %w", sid, to, err)
	}
	return prev, nil
}

// once reports whether tag is seen on the call for the first time: Twilio
// retries webhooks and may deliver status callbacks twice.
func (s calls) once(ctx context.Context, sid, tag string) (bool, error) {
	first, err := s.rdb.HSetNX(ctx, callKey(s.ws, sid), "seen:"+tag, "1").Result()
	if err != nil {
		return false, fmt.Errorf("voice: call %s: %w", sid, err)
	}
	return first, nil
}

// scheduleCallback makes the call's callback due at t.
func (s calls) scheduleCallback(ctx context.Context, sid string, t time.Time) error {
	if err := s.rdb.ZAdd(ctx, callbacksKey(s.ws), redis.Z{Score: float64(t.UnixMilli()), Member: sid}).Err(); err != nil {
		return fmt.Errorf("voice: schedule callback %s: %w", sid, err)
	}
	return nil
}

// unscheduleCallback drops a scheduled callback.
func (s calls) unscheduleCallback(ctx context.Context, sid string) error {
	if err := s.rdb.ZRem(ctx, callbacksKey(s.ws), sid).Err(); err != nil {
		return fmt.Errorf("voice: unschedule callback %s: %w", sid, err)
	}
	return nil
}

// claimDue takes the callbacks due at now. Each is removed by exactly one
// gateway (ZREM answers 1 once), which then places it.
func (s calls) claimDue(ctx context.Context, now time.Time, limit int64) ([]string, error) {
	due, err := s.rdb.ZRangeByScore(ctx, callbacksKey(s.ws), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: limit,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("voice: due callbacks: %w", err)
	}
	var claimed []string
	for _, sid := range due {
		n, err := s.rdb.ZRem(ctx, callbacksKey(s.ws), sid).Result()
		if err != nil {
			return claimed, fmt.Errorf("voice: claim callback %s: %w", sid, err)
		}
		if n == 1 {
			claimed = append(claimed, sid)
		}
	}
	return claimed, nil
}
