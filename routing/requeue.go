package routing

import (
	"context"
	"fmt"
)

// Requeue returns a conversation agentID accepted but could not be reached
// on (a softphone that did not pick up) to its original place in line — its
// enqueue time unchanged — and counts a missed offer against the agent, as
// a lapsed offer does. The event is EventExpired with reason "missed". It
// fails with ErrNotAssigned when the conversation is not active with
// agentID.
func (e *Engine) Requeue(ctx context.Context, conversationID, agentID string) error {
	if _, err := e.call(ctx, e.s.requeue, []string{e.k.conv(conversationID)}, conversationID, agentID); err != nil {
		return fmt.Errorf("routing: requeue %s missed by %s: %w", conversationID, agentID, err)
	}
	return nil
}
