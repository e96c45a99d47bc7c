package conversation

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/internal/channel"
)

// List limits.
const (
	// MaxListLimit is the most conversations one List page holds.
	MaxListLimit = 200
	// DefaultListLimit is the page size when ListQuery.Limit is 0.
	DefaultListLimit = 50
	// listScanBudget is how many index entries one page looks at, at most,
	// so a query whose filters match little costs a bounded amount of
	// Redis time per call; such a page comes back short, with a cursor.
	listScanBudget = 2000
)

var scriptList = loadScript("list.lua")

// ListQuery selects conversations. Zero fields do not filter.
type ListQuery struct {
	// States keeps conversations in one of these states.
	States []State
	// Queue, Channel, AgentID and CustomerID keep conversations whose
	// record names them (AgentID: offered to or held by, or the last
	// holder of a closed one). A merged customer's id finds the
	// conversations of the customer it was merged into.
	Queue      string
	Channel    channel.Name
	AgentID    string
	CustomerID string
	// UpdatedSince keeps conversations whose record changed at or after
	// this time (a message, a reply or note, a routing event, a merge).
	UpdatedSince time.Time
	// Cursor continues after the page that answered it as Next; "" starts
	// at the newest conversation.
	Cursor string
	// Limit is the page size, 1 to MaxListLimit; 0 means DefaultListLimit.
	Limit int
}

// ListPage is one page of List.
type ListPage struct {
	// Conversations, newest first (by creation time, then id).
	Conversations []Conversation `json:"conversations"`
	// Next continues the listing; "" after the last page. A page may hold
	// fewer than Limit conversations (even none) and still have a Next:
	// each call looks at a bounded number of candidates.
	Next string `json:"next"`
}

// cursorPattern is "<creation ms>.<conversation id>".
var cursorPattern = regexp.MustCompile(`^([0-9]{1,15})\.([A-Za-z0-9_-]{1,64})$`)

// List answers one page of conversations matching q, newest first.
//
// Paging is stable under concurrent writes: the order is by creation time,
// then id, which no later write changes, and the cursor is a position in
// that order rather than an offset. So while conversations are updated,
// transferred or closed during paging, none is returned twice and none
// that matches the filters when its page is read is skipped. Conversations
// created after the first page sort before the cursor and are not part of
// that pass; a client that keeps in sync lists again with UpdatedSince set
// to when its previous pass began. (Ordering by updated time instead would
// move a conversation across the cursor each time it changes: newest-first
// paging would skip it, oldest-first would return it twice.)
//
// The walk uses the narrowest index a filter allows: the customer's
// conversations, the agent's, else all of them; the other filters are
// checked on each record in the same script.
func (s *Service) List(ctx context.Context, q ListQuery) (ListPage, error) {
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultListLimit
	case limit < 0 || limit > MaxListLimit:
		return ListPage{}, &FieldError{Field: "limit", Reason: fmt.Sprintf("must be 1 to %d", MaxListLimit)}
	}
	score, after := "+inf", ""
	if q.Cursor != "" {
		m := cursorPattern.FindStringSubmatch(q.Cursor)
		if m == nil {
			return ListPage{}, &FieldError{Field: "cursor", Reason: "not a cursor this API gave"}
		}
		score, after = m[1], m[2]
	}
	states := ""
	if len(q.States) > 0 {
		for _, st := range q.States {
			if !slices.Contains([]State{StateQueued, StateOffered, StateActive, StateClosed, StateAbandoned}, st) {
				return ListPage{}, &FieldError{Field: "state", Reason: fmt.Sprintf("unknown state %q", st)}
			}
		}
		states = "," + strings.Join(stateStrings(q.States), ",") + ","
	}
	customer := q.CustomerID
	key := s.k.convs()
	switch {
	case customer != "":
		c, err := s.Customer(ctx, customer)
		if errors.Is(err, ErrNotFound) {
			return ListPage{Conversations: []Conversation{}}, nil
		}
		if err != nil {
			return ListPage{}, err
		}
		customer = c.ID
		key = s.k.custConvs(customer)
	case q.AgentID != "":
		key = s.k.agentConvs(q.AgentID)
	}
	since := int64(0)
	if !q.UpdatedSince.IsZero() {
		since = max(q.UpdatedSince.UnixMilli(), 1)
	}
	res, err := scriptList.Run(ctx, s.rdb, []string{key}, s.k.prefix(), score, after, limit, listScanBudget,
		states, q.Queue, string(q.Channel), q.AgentID, customer, since).StringSlice()
	if err != nil {
		return ListPage{}, fmt.Errorf("conversation: list: %w", err)
	}
	page := ListPage{Conversations: make([]Conversation, 0, len(res)-2)}
	if res[0] != "" {
		page.Next = res[0] + "." + res[1]
	}
	ids := res[2:]
	if len(ids) == 0 {
		return page, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.k.conv(id))
		}
		return nil
	})
	if err != nil {
		return ListPage{}, fmt.Errorf("conversation: list: %w", err)
	}
	for _, c := range cmds {
		if h := c.Val(); len(h) > 0 {
			page.Conversations = append(page.Conversations, convFromHash(h))
		}
	}
	return page, nil
}

func stateStrings(sts []State) []string {
	out := make([]string, len(sts))
	for i, st := range sts {
		out[i] = string(st)
	}
	return out
}

// ParseStates reads a "state" query value: a comma-separated list of
// states, or "open" for queued, offered and active.
func ParseStates(s string) []State {
	var out []State
	for _, item := range strings.Split(s, ",") {
		switch item = strings.TrimSpace(item); item {
		case "":
		case "open":
			out = append(out, StateQueued, StateOffered, StateActive)
		default:
			out = append(out, State(item))
		}
	}
	return out
}
