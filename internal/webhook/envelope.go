package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/routing"
)

// Event types an endpoint can ask for. docs/webhooks.md has a JSON Schema
// of each one's data.
const (
	TypeConversationCreated     = "conversation.created"
	TypeConversationQueued      = "conversation.queued"
	TypeConversationOffered     = "conversation.offered"
	TypeConversationAssigned    = "conversation.assigned"
	TypeConversationTransferred = "conversation.transferred"
	TypeConversationClosed      = "conversation.closed"
	TypeConversationAbandoned   = "conversation.abandoned"
	TypeAgentStateChanged       = "agent.state_changed"
	TypeMessageReceived         = conversation.EventMessageReceived
	TypeMessageSent             = conversation.EventMessageSent
	TypeMessageDeliveryStatus   = conversation.EventMessageStatus
	TypeCustomerCreated         = conversation.EventCustomerCreated
	TypeCustomerUpdated         = conversation.EventCustomerUpdated
	TypeCustomerMerged          = conversation.EventCustomerMerged
	TypePromiseMade             = "promise.made"
	TypePromiseDue              = "promise.due"
	TypePromiseKept             = "promise.kept"
	TypePromiseBroken           = "promise.broken"
	TypeRatingReceived          = "rating.received"
	// TypePing is sent by the admin's "send test event"; every endpoint
	// gets it whatever it subscribed to.
	TypePing = "ping"
)

// Types lists every event type an endpoint may subscribe to.
var Types = []string{
	TypeConversationCreated, TypeConversationQueued, TypeConversationOffered,
	TypeConversationAssigned, TypeConversationTransferred, TypeConversationClosed,
	TypeConversationAbandoned, TypeAgentStateChanged,
	TypeMessageReceived, TypeMessageSent, TypeMessageDeliveryStatus,
	TypeCustomerCreated, TypeCustomerUpdated, TypeCustomerMerged,
	TypePromiseMade, TypePromiseDue, TypePromiseKept, TypePromiseBroken,
	TypeRatingReceived,
}

// Envelope is the JSON body of every delivery.
type Envelope struct {
	// ID is stable across retries, replays and gateways: the receiver's
	// idempotency key.
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	Workspace  string    `json:"workspace"`
	Data       Data      `json:"data"`
	// key orders deliveries: events with the same key reach an endpoint in
	// the order they happened.
	key string
}

// Data is the event's payload; fields that do not apply are omitted.
type Data struct {
	ConversationID string `json:"conversation_id,omitempty"`
	Queue          string `json:"queue,omitempty"`
	Channel        string `json:"channel,omitempty"`
	CustomerID     string `json:"customer_id,omitempty"`
	AgentID        string `json:"agent_id,omitempty"`
	FromAgentID    string `json:"from_agent_id,omitempty"`
	FromQueue      string `json:"from_queue,omitempty"`
	Reason         string `json:"reason,omitempty"`
	Disposition    string `json:"disposition,omitempty"`
	State          string `json:"state,omitempty"`
	PreviousState  string `json:"previous_state,omitempty"`
	WaitMS         int64  `json:"wait_ms,omitempty"`
	HandleMS       int64  `json:"handle_ms,omitempty"`
	Priority       int    `json:"priority,omitempty"`
	Message        string `json:"message,omitempty"`

	// Messages (message.*).
	MessageID       string       `json:"message_id,omitempty"`
	Text            string       `json:"text,omitempty"`
	Attachments     []Attachment `json:"attachments,omitempty"`
	ProviderID      string       `json:"provider_id,omitempty"`
	Status          string       `json:"status,omitempty"`
	ErrorCode       string       `json:"error_code,omitempty"`
	ErrorText       string       `json:"error_text,omitempty"`
	NewConversation bool         `json:"new_conversation,omitempty"`

	// Customers (customer.*).
	Identity         string   `json:"identity,omitempty"`
	Name             string   `json:"name,omitempty"`
	Identities       []string `json:"identities,omitempty"`
	Tags             []string `json:"tags,omitempty"`
	Changes          []string `json:"changes,omitempty"`
	MergedCustomerID string   `json:"merged_customer_id,omitempty"`

	// Promises (promise.*) and ratings.
	PromiseID string    `json:"promise_id,omitempty"`
	What      string    `json:"what,omitempty"`
	Due       time.Time `json:"due,omitzero"`
	Pending   bool      `json:"pending,omitempty"`
	LateMS    int64     `json:"late_ms,omitempty"`
	Via       string    `json:"via,omitempty"`
	Returned  string    `json:"returned,omitempty"`
	Score     int       `json:"score,omitempty"`
	Comment   string    `json:"comment,omitempty"`
}

// Attachment describes a file of a message; the file itself stays with
// Switchboard.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// Conversations is the conversation service as the webhooks see it: its
// event stream feeds message.*, customer.*, conversation.closed, and
// conversation.created and .assigned of an agent's start, and
// its records fill in what an event names (the text of a message, a
// customer as they are now). *conversation.Service implements it.
type Conversations interface {
	Conversation(ctx context.Context, id string) (conversation.Conversation, error)
	Entry(ctx context.Context, convID, entryID string) (conversation.Entry, error)
	Customer(ctx context.Context, id string) (conversation.Customer, error)
	EventsKey() string
}

// fromRouting turns one routing event into the envelopes it means. Events
// of no interest to integrations (estimates, wrap-up end) give none.
func fromRouting(ws string, ev routing.Event) []Envelope {
	base := Envelope{ID: "evt_" + ev.ID, OccurredAt: ev.At.UTC(), Workspace: ws, key: ev.ConversationID}
	d := Data{ConversationID: ev.ConversationID, Queue: ev.Queue, Channel: ev.Channel, AgentID: ev.AgentID}
	one := func(typ string, d Data) []Envelope {
		e := base
		e.Type, e.Data = typ, d
		return []Envelope{e}
	}
	switch ev.Type {
	case routing.EventEnqueued:
		// conversation.created comes from the message that opened it (on
		// the conversation stream, just before that message), not from
		// here: an enqueue is also a reopen or a promise coming back, and
		// this stream cannot order itself before the first message.
		d.CustomerID, d.Priority = ev.CustomerID, ev.Priority
		return one(TypeConversationQueued, d)
	case routing.EventStarted:
		// An agent started it to the customer: conversation.created and
		// .assigned come from the record's start, on the conversation
		// stream. Routing holds the conversation before the record is
		// stored and lets it go when storing fails, so its start may be
		// of a conversation that never was.
		return nil
	case routing.EventOffered:
		d.Reason, d.WaitMS = ev.Reason, ev.Wait.Milliseconds()
		return one(TypeConversationOffered, d)
	case routing.EventAccepted:
		d.WaitMS = ev.Wait.Milliseconds()
		return one(TypeConversationAssigned, d)
	case routing.EventTransferred:
		d.FromAgentID, d.FromQueue, d.Priority = ev.FromAgent, ev.FromQueue, ev.Priority
		return one(TypeConversationTransferred, d)
	case routing.EventOverflowed:
		d.Queue, d.FromQueue, d.Reason, d.WaitMS = ev.ToQueue, ev.Queue, "overflow", ev.Wait.Milliseconds()
		return one(TypeConversationTransferred, d)
	case routing.EventClosed:
		// conversation.closed comes from the record's close, on the
		// conversation stream: routing lets go before the close is
		// recorded (so its disposition is not known yet here), and a
		// conversation a promise keeps open is let go without a close.
		return nil
	case routing.EventAbandoned:
		if ev.ClosedInQueue() {
			// Staff closed it before anyone took it (spam): a close, told
			// by the record's close like any other, not a customer's
			// abandon.
			return nil
		}
		d.WaitMS, d.Reason = ev.Wait.Milliseconds(), ev.Reason
		return one(TypeConversationAbandoned, d)
	case routing.EventAgentState:
		d.State, d.PreviousState, d.Reason = string(ev.State), string(ev.PrevState), ev.Reason
		e := one(TypeAgentStateChanged, d)
		e[0].key = "agent:" + ev.AgentID
		return e
	}
	return nil
}

func (e Envelope) body() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("webhook: encode %s: %w", e.ID, err)
	}
	return b, nil
}
