package desk

import (
	"context"

	"github.com/switchboard/switchboard/internal/conversation"
)

// ListConversations is one page of the conversations who may see, newest
// first, for inbox views and integrations.
//
// Supervisors and admins (and integration tokens with that role) see every
// conversation and may filter by any agent. An agent's list is always of
// their own: the agent filter is forced to themselves, so asking for
// another agent's answers an empty page (the two filters match nothing in
// common), never an error that would tell whether that agent has any.
// Each conversation on an agent's page is also checked against the
// decision table, so a record that lags routing for a moment (an offer
// that just lapsed) is left out rather than shown; such a page may come
// back short and still carry a Next cursor, as List's pages may.
func (d *Desk) ListConversations(ctx context.Context, who Actor, q conversation.ListQuery) (conversation.ListPage, error) {
	if !who.Role.Valid() {
		return conversation.ListPage{}, ErrNotFound
	}
	if who.supervises() {
		page, err := d.convs.List(ctx, q)
		return page, mapErr(err)
	}
	other := q.AgentID != "" && q.AgentID != who.AccountID
	q.AgentID = who.AccountID
	page, err := d.convs.List(ctx, q)
	if err != nil {
		return page, mapErr(err)
	}
	if other {
		// The query ran anyway so that bad input is the same error
		// whichever agent is asked for.
		return conversation.ListPage{Conversations: []conversation.Conversation{}}, nil
	}
	visible := page.Conversations[:0]
	for _, c := range page.Conversations {
		if Decide(who, See, d.standing(ctx, who, c)) == nil {
			visible = append(visible, c)
		}
	}
	page.Conversations = visible
	return page, nil
}
