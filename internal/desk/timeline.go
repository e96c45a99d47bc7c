package desk

import (
	"context"
	"slices"
	"time"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/promise"
)

// Kinds of timeline items this package makes; sources add their own
// ("rating", "recovery").
const (
	TimelineConversation = "conversation"
	TimelinePromise      = "promise"
)

// maxTimelineConversations bounds the conversations one timeline reads.
const maxTimelineConversations = 500

// TimelineItem is one interaction on a customer's timeline.
type TimelineItem struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// Channel and ConversationID say where it happened (every item of a
	// conversation carries them).
	Channel        string `json:"channel,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	AgentID        string `json:"agent_id,omitempty"`
	// State is a conversation's state ("closed", …), a promise's outcome
	// (open, kept, late, broken), or a source's.
	State string `json:"state,omitempty"`
	// Text is a one-line summary: a conversation's disposition, what a
	// promise promised, a rating's comment.
	Text         string                     `json:"text,omitempty"`
	Conversation *conversation.Conversation `json:"conversation,omitempty"`
	Promise      *promise.Promise           `json:"promise,omitempty"`
	// Detail is a source's own payload (a rating's score).
	Detail any `json:"detail,omitempty"`
}

// TimelineSource adds items to customers' timelines: the surveys
// (ratings) and service recovery (notes) register one in Params.Timeline.
type TimelineSource interface {
	// Timeline returns the source's items about the customer, limited to
	// conversationIDs: those the caller may see.
	Timeline(ctx context.Context, customerID string, conversationIDs []string) ([]TimelineItem, error)
}

// Timeline lists every interaction with the customer across channels that
// who may see, oldest first: conversations (calls and emails are
// conversations on those channels), promises with their outcome, and the
// items of Params.Timeline.
func (d *Desk) Timeline(ctx context.Context, who Actor, customerID string) ([]TimelineItem, error) {
	cust, err := d.authorizeCustomer(ctx, who, See, customerID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	items := []TimelineItem{}
	var ids []string
	for off := int64(0); off >= 0 && len(ids) < maxTimelineConversations; {
		page, err := d.History(ctx, who, cust.ID, off, 100)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Conversations {
			ids = append(ids, c.ID)
			items = append(items, TimelineItem{At: c.CreatedAt, Kind: TimelineConversation, Channel: string(c.Channel),
				ConversationID: c.ID, AgentID: c.AgentID, State: string(c.State), Text: c.Disposition, Conversation: &c})
			if d.promises == nil {
				continue
			}
			ps, err := d.promises.ForConversation(ctx, c.ID)
			if err != nil {
				return nil, mapErr(err)
			}
			for _, p := range ps {
				items = append(items, TimelineItem{At: p.CreatedAt, Kind: TimelinePromise, Channel: p.Channel,
					ConversationID: p.ConversationID, AgentID: p.AgentID, State: string(p.Outcome(now)), Text: p.What, Promise: &p})
			}
		}
		off = page.Next
	}
	for _, src := range d.timeline {
		more, err := src.Timeline(ctx, cust.ID, ids)
		if err != nil {
			return nil, mapErr(err)
		}
		items = append(items, more...)
	}
	slices.SortStableFunc(items, func(a, b TimelineItem) int { return a.At.Compare(b.At) })
	return items, nil
}
