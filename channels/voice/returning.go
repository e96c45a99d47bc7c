package voice

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// A caller who booked a callback and calls again before it comes is the
// same customer in the same line: the new call takes the callback's place
// (its conversation and enqueue time) instead of opening a second
// conversation at the back, which an agent would then serve twice. If they
// hang up again while waiting, the callback is theirs again.

// notePending remembers the caller's booked callback by number.
func (s calls) notePending(ctx context.Context, number, sid string) error {
	if err := s.rdb.Set(ctx, pendingKey(s.ws, number), sid, callTTL).Err(); err != nil {
		return fmt.Errorf("voice: note callback %s: %w", sid, err)
	}
	return nil
}

// pending is the CallSid of the number's booked callback, "" for none. The
// entry may be stale; the call's state decides.
func (s calls) pending(ctx context.Context, number string) (string, error) {
	sid, err := s.rdb.Get(ctx, pendingKey(s.ws, number)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("voice: booked callback of %s: %w", number, err)
	}
	return sid, nil
}

// booked records that cs now waits as a callback, so a new call from its
// number finds it.
func (c *Channel) booked(ctx context.Context, cs callState) {
	num, ok := callerNumber(cs.From)
	if !ok {
		return
	}
	if err := c.calls.notePending(ctx, num, cs.Sid); err != nil {
		c.log.Warn("voice: a new call from this number would queue again", "call_sid", cs.Sid, "err", err)
	}
}

// resumeCallback lets a new call take over the caller's booked callback
// that no agent has accepted yet. ok is false when there is none (the
// call then opens a conversation of its own).
func (c *Channel) resumeCallback(w *webhook, to string) (doc string, ok bool, err error) {
	num, callable := callerNumber(w.h.From)
	if !callable {
		return "", false, nil
	}
	old, err := c.calls.pending(w.ctx, num)
	if err != nil || old == "" {
		return "", false, err
	}
	// Atomic against an agent accepting the callback this instant: then
	// the callback goes ahead and this call is a new conversation.
	prev, err := c.calls.move(w.ctx, old, []string{stateCallback}, stateEnded, "replaced_by", w.h.CallSid)
	if err != nil || prev == "" {
		return "", false, err
	}
	oc, found, err := c.calls.get(w.ctx, old)
	if err != nil || !found {
		return "", false, err
	}
	cs := callState{Sid: w.h.CallSid, Conv: oc.Conv, Queue: oc.Queue, From: w.h.From, To: to,
		State: stateWaiting, Enqueued: oc.Enqueued, ResumedFrom: old}
	if _, err := c.calls.create(w.ctx, cs); err != nil {
		return "", false, err
	}
	c.record(w.ctx, cs.Conv, "callback_called_again", fmt.Sprintf(
		"Caller called again while waiting for their callback; back on the line at their place (%s since they first called).",
		minutesSeconds(w.now.Sub(oc.Enqueued))))
	text := welcomeBack(c.cfg.Company)
	place, err := c.core.Place(w.ctx, cs.Conv)
	if err != nil {
		c.log.Warn("voice: no place to announce", "conversation", cs.Conv, "err", err)
	}
	if s := placeSentence(place); err == nil && s != "" {
		text += " " + s
		if err := c.calls.set(w.ctx, cs.Sid, "told_place", place.Position, "told_at", ms(w.now)); err != nil {
			c.log.Warn("voice: announced place not kept", "call_sid", cs.Sid, "err", err)
		}
	}
	c.told(w.ctx, cs.Conv, text, place)
	doc, err = document(c.say(text), c.enqueue(cs.Queue))
	return doc, true, err
}

// keepCallback gives a resumed call's booked callback back when the caller
// hangs up while waiting: they asked to be called, and still are.
func (c *Channel) keepCallback(ctx context.Context, cs callState) error {
	if _, err := c.calls.move(ctx, cs.ResumedFrom, []string{stateEnded}, stateCallback, "replaced_by", ""); err != nil {
		return err
	}
	if err := c.calls.linkConversation(ctx, cs.ResumedFrom, cs.Conv); err != nil {
		return err
	}
	c.booked(ctx, callState{Sid: cs.ResumedFrom, From: cs.From})
	c.record(ctx, cs.Conv, "callback_kept", "Caller hung up while waiting on the line; their callback stays booked at their place.")
	return nil
}
