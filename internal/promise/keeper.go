package promise

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// claimBatch bounds one claim: a backlog is worked through in batches.
const claimBatch = 50

// Run fires due promises and shows reminders until ctx ends. Every gateway
// runs it; each due promise is claimed by one (see the package doc).
func (s *Service) Run(ctx context.Context) error {
	if s.p.Router == nil {
		return errors.New("promise: Run needs Params.Router")
	}
	t := time.NewTicker(s.p.Poll)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("promise: due loop", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.kick:
		}
	}
}

// Tick runs one pass of Run: reminders, then due promises. Tests with a
// fake clock call it directly.
func (s *Service) Tick(ctx context.Context) error {
	if err := s.remind(ctx); err != nil {
		return err
	}
	for {
		now := s.p.Now()
		res, err := scriptClaim.Run(ctx, s.rdb, []string{s.k.due()}, s.k.p, ms(now), s.p.Lease.Milliseconds(), claimBatch).StringSlice()
		if err != nil {
			return fmt.Errorf("promise: claim due: %w", err)
		}
		if s.afterClaim != nil && len(res) > 0 {
			s.afterClaim()
		}
		for i := 0; i+1 < len(res); i += 2 {
			if err := s.fire(ctx, res[i], res[i+1]); err != nil {
				// Left claimed: the lease lapses and it is tried again.
				s.log.Warn("promise: fire", "promise", res[i], "err", err)
			}
		}
		if len(res) < 2*claimBatch {
			return nil
		}
	}
}

// remind shows each reminder whose time came, once: ZREM decides which
// gateway shows it. A gateway that dies in between loses that reminder,
// never the promise.
func (s *Service) remind(ctx context.Context) error {
	ids, err := s.rdb.ZRangeByScore(ctx, s.k.remind(), &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(ms(s.p.Now()), 10), Count: claimBatch}).Result()
	if err != nil {
		return fmt.Errorf("promise: reminders: %w", err)
	}
	for _, id := range ids {
		n, err := s.rdb.ZRem(ctx, s.k.remind(), id).Result()
		if err != nil {
			return fmt.Errorf("promise: reminder %s: %w", id, err)
		}
		if n == 0 {
			continue // another gateway showed it
		}
		p, err := s.Get(ctx, id)
		if err != nil || p.State != Open {
			continue
		}
		if s.p.Consoles != nil {
			s.p.Consoles.PromiseReminder(ctx, p.AgentID, p)
		}
	}
	return nil
}

// fire acts on one claimed due promise. A pending conversation goes to its
// agent if they can take it; else it waits up to OwnerWindow (counted
// from the first claim) and then goes to the queue, both at Priority. A
// promise whose conversation the agent still holds only tells the console.
func (s *Service) fire(ctx context.Context, id, token string) error {
	p, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return s.finish(ctx, id, token, "", "")
	}
	if err != nil {
		return err
	}
	switch {
	case p.Returned != "":
		return s.finish(ctx, id, token, "", "")
	case !p.Pending:
		if p.State == Open && s.p.Consoles != nil {
			s.p.Consoles.PromiseDue(ctx, p.AgentID, p)
		}
		return s.finish(ctx, id, token, "", ReturnedHeld)
	}
	now := s.p.Now()
	_, canTake, err := s.p.Router.Owner(ctx, p.AgentID, p.Channel)
	if err != nil {
		return err
	}
	to := ReturnedAgent
	if !canTake {
		first, err := s.rdb.HGet(ctx, s.k.promise(id), "first_due").Result()
		if err != nil {
			return fmt.Errorf("promise: %s: first due: %w", id, err)
		}
		if now.Before(fromMS(first).Add(s.p.OwnerWindow)) {
			return s.finish(ctx, id, token, strconv.FormatInt(ms(now.Add(s.p.Recheck)), 10), "")
		}
		to = ReturnedQueue
	}
	switch err := s.p.Router.Return(ctx, p.ConversationID, p.AgentID, s.p.Priority); {
	case errors.Is(err, ErrGone):
		to = ReturnedGone
	case err != nil:
		return err
	}
	if err := s.finish(ctx, id, token, "", to); err != nil {
		return err
	}
	if to != ReturnedGone && s.p.Consoles != nil {
		p.Returned = to
		s.p.Consoles.PromiseDue(ctx, p.AgentID, p)
	}
	return nil
}

func (s *Service) finish(ctx context.Context, id, token, next, returned string) error {
	_, err := scriptFinish.Run(ctx, s.rdb, []string{s.k.promise(id), s.k.due(), s.k.parked(), s.k.events()},
		id, token, next, returned, ms(s.p.Now()), s.p.EventsMaxLen).Int()
	if err != nil {
		return fmt.Errorf("promise: finish %s: %w", id, err)
	}
	return nil
}

// StopAfterClaim makes s call stop after each claim of due promises,
// before acting on them: crash tests stop a gateway there. Not for
// production use.
func StopAfterClaim(s *Service, stop func()) { s.afterClaim = stop }
