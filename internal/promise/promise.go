package promise

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// State is where a promise stands. Open until resolved; kept, late and
// broken are final.
type State string

// Promise states.
const (
	// Open: not resolved yet (it may be past due: then it is late already).
	Open State = "open"
	// Kept: resolved (a reply, call or note marked done) by its due time.
	Kept State = "kept"
	// Late: resolved after its due time.
	Late State = "late"
	// Broken: cancelled before it was resolved.
	Broken State = "broken"
)

// Where a due pending conversation went (Promise.Returned).
const (
	ReturnedAgent = "agent" // offered to the promise's agent
	ReturnedQueue = "queue" // the agent stayed unavailable: queued at high priority
	ReturnedHeld  = "held"  // it was not pending: the agent held it all along
	ReturnedGone  = "gone"  // the conversation had been closed meanwhile
)

// Ways a promise is kept (Promise.Via).
const (
	ViaReply = "reply"
	ViaCall  = "call"
	ViaNote  = "note"
)

// Errors callers tell apart.
var (
	// ErrNotFound: no such promise (or not on that conversation).
	ErrNotFound = errors.New("promise: not found")
	// ErrResolved: the promise is already kept, late or broken.
	ErrResolved = errors.New("promise: already resolved")
	// ErrParked: the conversation already waits for another promise.
	ErrParked = errors.New("promise: the conversation already waits for a promise")
	// ErrInvalid: a field the store refuses; the message names it.
	ErrInvalid = errors.New("promise: invalid")
	// ErrGone is what a Router returns when the conversation can no longer
	// come back (it was closed): the promise stops waiting for it.
	ErrGone = errors.New("promise: conversation gone")
)

// FieldError names the request field the store refuses; it matches
// ErrInvalid.
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string { return "promise: " + e.Field + ": " + e.Reason }

// Is makes a FieldError match ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Promise is one promise an agent made to a customer.
type Promise struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversation_id"`
	CustomerID     string    `json:"customer_id"`
	AgentID        string    `json:"agent_id"`
	Queue          string    `json:"queue"`
	Channel        string    `json:"channel"`
	What           string    `json:"what"`
	Due            time.Time `json:"due"`
	CreatedAt      time.Time `json:"created_at"`
	// Pending: the conversation waits, out of the agent's active list,
	// until the promise falls due or the customer writes.
	Pending bool `json:"pending"`
	// Returned says where the conversation went when the promise fell due
	// (ReturnedAgent, ReturnedQueue, ReturnedHeld, ReturnedGone); "" before.
	Returned   string    `json:"returned,omitempty"`
	ReturnedAt time.Time `json:"returned_at,omitzero"`
	State      State     `json:"state"`
	// ResolvedAt is when it was kept or cancelled; Via how it was kept.
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Via        string    `json:"via,omitempty"`
	// LatenessSeconds is how long after Due a late promise was kept.
	LatenessSeconds float64 `json:"lateness_seconds,omitempty"`
}

// Outcome is the promise's state as seen at now: an open promise past its
// due time is already late (it can only end late or broken).
func (p Promise) Outcome(now time.Time) State {
	if p.State == Open && now.After(p.Due) {
		return Late
	}
	return p.State
}

func promiseFrom(h map[string]string) Promise {
	late, _ := strconv.ParseInt(h["late_ms"], 10, 64)
	return Promise{
		ID: h["id"], ConversationID: h["conv"], CustomerID: h["customer"], AgentID: h["agent"],
		Queue: h["queue"], Channel: h["channel"], What: h["what"],
		Due: fromMS(h["due"]), CreatedAt: fromMS(h["created"]),
		Pending: h["pending"] == "1", Returned: h["returned"], ReturnedAt: fromMS(h["returned_at"]),
		State: State(h["state"]), ResolvedAt: fromMS(h["resolved"]), Via: h["via"],
		LatenessSeconds: float64(late) / 1000,
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// Types of the entries of the events stream (Service.EventsKey). Each is
// written by the script that records the fact.
const (
	EventMade   = "made"   // recorded
	EventKept   = "kept"   // resolved by its due time
	EventLate   = "late"   // resolved after its due time
	EventBroken = "broken" // cancelled unresolved
	// EventReturned: it fell due (or its customer wrote first) and its
	// conversation went To somewhere (ReturnedAgent, ReturnedQueue,
	// ReturnedHeld, ReturnedGone); State is the promise's state then.
	EventReturned = "returned"
)

// Event is one entry of the events stream.
type Event struct {
	// ID is the stream id.
	ID             string
	Type           string
	At             time.Time
	PromiseID      string
	ConversationID string
	AgentID        string
	Queue          string
	Due            time.Time
	// LateMS is how late a late promise was kept; Via how it was kept.
	LateMS int64
	Via    string
	// To and State: where an EventReturned conversation went, and the
	// promise's state then.
	To    string
	State State
}

// EventFrom decodes one entry of the events stream (id and field values as
// go-redis returns them). At is the stream id's time.
func EventFrom(id string, v map[string]any) Event {
	str := func(k string) string { s, _ := v[k].(string); return s }
	late, _ := strconv.ParseInt(str("late_ms"), 10, 64)
	at, _, _ := strings.Cut(id, "-")
	return Event{
		ID: id, Type: str("type"), At: fromMS(at), PromiseID: str("promise"), ConversationID: str("conv"),
		AgentID: str("agent"), Queue: str("queue"), Due: fromMS(str("due")), LateMS: late, Via: str("via"),
		To: str("to"), State: State(str("state")),
	}
}
