package agentui

import (
	"context"
	"encoding/json"

	"github.com/switchboard/switchboard/internal/promise"
)

// Frame types about promises (docs/protocol.md).
const (
	FramePromiseReminder = "promise_reminder"
	FramePromiseDue      = "promise_due"
)

// PromiseFrame tells an agent's console about one of their promises: kind
// FramePromiseReminder (it falls due soon) or FramePromiseDue (it fell
// due; Returned says where its conversation went). Publish it on
// AgentTopic.
func PromiseFrame(kind string, p promise.Promise) []byte {
	b, _ := json.Marshal(map[string]any{"type": kind, "promise": p})
	return b
}

// PromiseReminder implements promise.Consoles.
func (p *Publisher) PromiseReminder(ctx context.Context, agentID string, pr promise.Promise) {
	p.publish(ctx, AgentTopic(agentID), PromiseFrame(FramePromiseReminder, pr))
}

// PromiseDue implements promise.Consoles.
func (p *Publisher) PromiseDue(ctx context.Context, agentID string, pr promise.Promise) {
	p.publish(ctx, AgentTopic(agentID), PromiseFrame(FramePromiseDue, pr))
}

var _ promise.Consoles = (*Publisher)(nil)
