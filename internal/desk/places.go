package desk

import (
	"context"
	"time"

	"github.com/switchboard/switchboard/routing"
)

// Positions is the 1-based place of every conversation waiting in queue,
// from one read: one read serves every waiting visitor of that queue on a
// gateway.
func (d *Desk) Positions(ctx context.Context, queue string) (map[string]int, error) {
	return d.engine.Positions(ctx, queue)
}

// FollowQueues calls moved for every routing event that changes a queue's
// order, with the conversation that moved ("" when only the order of the
// queue changed), until ctx ends; then it returns nil. It listens to
// routing's live events, which Redis sends every gateway anyway, so a queue
// that is still costs no Redis command however many customers wait in it.
// moved must return quickly.
func (d *Desk) FollowQueues(ctx context.Context, moved func(convID, queue string)) error {
	for ctx.Err() == nil {
		sub, err := d.engine.Subscribe(ctx)
		if err != nil {
			d.log.Warn("desk: follow queue moves; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for ev := range sub.C {
			queueMoves(ev, moved)
		}
	}
	return nil
}

// queueMoves passes on what ev changed of the queues' order.
func queueMoves(ev routing.Event, moved func(convID, queue string)) {
	switch ev.Type {
	case routing.EventEnqueued, routing.EventOffered, routing.EventAccepted, routing.EventDeclined,
		routing.EventExpired, routing.EventAbandoned:
		moved(ev.ConversationID, ev.Queue)
	case routing.EventTransferred:
		moved(ev.ConversationID, ev.Queue)
		if ev.FromQueue != "" && ev.FromQueue != ev.Queue {
			moved("", ev.FromQueue)
		}
	case routing.EventOverflowed:
		moved("", ev.Queue)
		moved(ev.ConversationID, ev.ToQueue)
	}
}
