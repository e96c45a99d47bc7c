package routing

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// EventType names a state change.
type EventType string

// Event types. Fields set besides ID, Type and At are listed for each.
const (
	// EventEnqueued: ConversationID, Queue, Channel, CustomerID, Priority,
	// EnqueuedAt, Skills.
	EventEnqueued EventType = "enqueued"
	// EventOffered: ConversationID, AgentID, Queue, Channel, Wait, Deadline;
	// Reason "sticky" (customer's last agent) or "transfer" (named agent).
	EventOffered EventType = "offered"
	// EventAccepted: ConversationID, AgentID, Queue, Channel, Wait (enqueue
	// to accept), EstimateLow/High when one was recorded; Reason "auto" for
	// auto-accepted channels.
	EventAccepted EventType = "accepted"
	// EventDeclined: ConversationID, AgentID, Queue, Channel, Until (the
	// agent is not offered it again before).
	EventDeclined EventType = "declined"
	// EventExpired: an offer lapsed or was withdrawn: ConversationID,
	// AgentID, Queue, Channel, Until; Reason "timeout", "agent away",
	// "agent offline".
	EventExpired EventType = "expired"
	// EventAbandoned: ConversationID, AgentID (if it was offered), Queue,
	// Channel, Wait; Reason is the state it left ("waiting", "offered");
	// Cause is why it left (see AbandonCause): only CauseClosed means staff
	// closed it, anything else that the customer left.
	EventAbandoned EventType = "abandoned"
	// EventClosed: ConversationID, AgentID, Queue, Channel, Handle; Reason
	// "wrapup" with Until when wrap-up started.
	EventClosed EventType = "closed"
	// EventWrapUpDone: ConversationID, AgentID, Queue, Channel.
	EventWrapUpDone EventType = "wrapup_done"
	// EventTransferred: ConversationID, Queue (new), Channel, AgentID
	// (target agent, if any), FromQueue, FromAgent, Priority, EnqueuedAt.
	EventTransferred EventType = "transferred"
	// EventOverflowed: ConversationID, Queue, Channel, ToQueue, Wait.
	EventOverflowed EventType = "overflowed"
	// EventAgentState: AgentID, State, Reason, PrevState.
	EventAgentState EventType = "agent_state"
	// EventAgentAwayMissedOffers: AgentID, Missed; for supervisors.
	EventAgentAwayMissedOffers EventType = "agent_away_missed_offers"
	// EventStarted: an agent started the conversation to a customer
	// (Engine.Start): ConversationID, AgentID, Queue, Channel, CustomerID.
	// It is active with AgentID at once; no offer, no wait.
	EventStarted EventType = "started"
	// EventEstimated: ConversationID, Queue, Channel, EstimateLow/High;
	// Reason "few samples" when the estimate had too little data.
	EventEstimated EventType = "estimated"
)

// AbandonCause says why a conversation left routing before anyone served
// it (Engine.Abandon, the abandoned event's Cause).
type AbandonCause string

// Abandon causes. Events written before the cause existed have none, and
// every one of those was a customer leaving (a close from the queue made
// one too, unmarked): read an empty or unknown cause as CauseCustomer, and
// test for CauseClosed.
const (
	// CauseCustomer: the customer left (hung up, closed the chat).
	CauseCustomer AbandonCause = "customer"
	// CauseClosed: staff closed it from the queue (spam, a duplicate); no
	// customer abandoned anything.
	CauseClosed AbandonCause = "closed"
)

// Event is one state change, from the capped stream (Events) or live
// (Subscribe). Fields that do not apply to a type are zero.
type Event struct {
	ID             string // stream id; resume with Events(ctx, ID, n)
	Type           EventType
	At             time.Time
	ConversationID string
	AgentID        string
	Queue          string
	Channel        string
	CustomerID     string
	Skills         []string
	Reason         string
	Wait           time.Duration
	Handle         time.Duration
	Deadline       time.Time
	Until          time.Time
	Priority       int
	EnqueuedAt     time.Time
	FromQueue      string
	FromAgent      string
	ToQueue        string
	State          AgentState
	PrevState      AgentState
	Missed         int
	EstimateLow    time.Duration
	EstimateHigh   time.Duration
	Cause          AbandonCause
}

// ClosedInQueue reports whether e is routing letting go of a conversation
// staff closed before anyone took it: an abandoned event with CauseClosed.
// One without a cause (written before causes existed) is the customer's.
func (e Event) ClosedInQueue() bool {
	return e.Type == EventAbandoned && e.Cause == CauseClosed
}

func dur(s string) time.Duration {
	if s == "" {
		return 0
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Duration(n) * time.Millisecond
}

// eventOf decodes one entry of the event stream, field by field: no copy
// of the entry is made on the way (a gateway decodes every event).
func eventOf(m redis.XMessage) Event {
	ev := Event{ID: m.ID}
	for k, v := range m.Values {
		if s, ok := v.(string); ok {
			ev.set(k, s)
		}
	}
	return ev
}

// eventFrom decodes the stream's field map (also the live message's JSON).
func eventFrom(id string, f map[string]string) Event {
	ev := Event{ID: id}
	for k, v := range f {
		ev.set(k, v)
	}
	return ev
}

// set decodes one field as lib.lua's emit writes it; unknown fields (the
// live message's id) are ignored.
func (ev *Event) set(k, v string) {
	switch k {
	case "type":
		ev.Type = EventType(v)
	case "at":
		ev.At = ms(v)
	case "conv":
		ev.ConversationID = v
	case "agent":
		ev.AgentID = v
	case "queue":
		ev.Queue = v
	case "channel":
		ev.Channel = v
	case "customer":
		ev.CustomerID = v
	case "skills":
		ev.Skills = splitList(v)
	case "reason":
		ev.Reason = v
	case "wait_ms":
		ev.Wait = dur(v)
	case "handle_ms":
		ev.Handle = dur(v)
	case "deadline":
		ev.Deadline = ms(v)
	case "until":
		ev.Until = ms(v)
	case "prio":
		ev.Priority = atoi(v)
	case "enq":
		ev.EnqueuedAt = ms(v)
	case "from_queue":
		ev.FromQueue = v
	case "from_agent":
		ev.FromAgent = v
	case "to_queue":
		ev.ToQueue = v
	case "state":
		ev.State = AgentState(v)
	case "prev":
		ev.PrevState = AgentState(v)
	case "missed":
		ev.Missed = atoi(v)
	case "est_low_ms":
		ev.EstimateLow = dur(v)
	case "est_high_ms":
		ev.EstimateHigh = dur(v)
	case "cause":
		ev.Cause = AbandonCause(v)
	}
}

// Events reads the capped event stream after afterID ("" for the start),
// at most count events (count <= 0 means 1000), oldest first. Statistics
// fold from it, on any gateway; a subscriber that missed live events
// resumes from here.
func (e *Engine) Events(ctx context.Context, afterID string, count int) ([]Event, error) {
	if count <= 0 {
		count = 1000
	}
	start := "-"
	if afterID != "" {
		start = "(" + afterID
	}
	msgs, err := e.c.XRangeN(ctx, e.k.events(), start, "+", int64(count)).Result()
	if err != nil {
		return nil, fmt.Errorf("routing: read events after %q: %w", afterID, err)
	}
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, eventOf(m))
	}
	return out, nil
}
