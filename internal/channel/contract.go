package channel

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"
)

// Channel is the contract every channel adapter satisfies. The wiring builds
// each from its configuration section and the Core, lists it once, and
// from then on treats them all alike.
type Channel interface {
	// Name is the channel the adapter serves; one adapter per Name.
	Name() Name
	// Send delivers one reply. An error wrapping ErrTemporary is retried by
	// the outbox with backoff; any other error fails the message for good
	// (a *PermanentError says why, in the provider's words).
	Send(ctx context.Context, out Outbound) (SendResult, error)
	// Addresses are our addresses on this channel (numbers, mailboxes, chat
	// queues) and where conversations opened on each go. Inbound.To is
	// matched against them; unlisted addresses go to the default queue.
	Addresses() []Address
	// Register adds the channel's HTTP routes (webhooks, websockets,
	// assets). Each route does its own authentication (a provider
	// signature, a visitor token).
	Register(r Routes)
	// Run does the channel's background work (IMAP IDLE, retries of
	// acknowledgements) until ctx ends, then stops it and returns nil. A
	// channel without background work returns when ctx ends.
	Run(ctx context.Context) error
}

// Observer is implemented by channels that act on what happens to their
// conversations: web chat tells the visitor an agent joined; voice connects
// the caller on accept and returns them to the queue when the agent misses.
// Each event reaches one gateway's channel once (a consumer group), in
// order per conversation. An error is logged and the event retried.
type Observer interface {
	Observe(ctx context.Context, ev Event) error
}

// EventType names what happened to a conversation.
type EventType string

// The events an Observer sees; all carry ConversationID, Channel, Queue, At.
const (
	// EventEnqueued: the conversation waits (new, transferred or
	// overflowed); Position may have changed.
	EventEnqueued EventType = "enqueued"
	// EventOffered: offered to AgentID until Deadline.
	EventOffered EventType = "offered"
	// EventAccepted: AgentID (named AgentName) took it; Wait is the time
	// from enqueue to accept.
	EventAccepted EventType = "accepted"
	// EventOfferLapsed: AgentID declined or let the offer lapse (Reason
	// "declined", "timeout", "agent away", "agent offline"); the
	// conversation is back at its original place.
	EventOfferLapsed EventType = "offer_lapsed"
	// EventTransferred: moved to Queue, or to AgentID when set, by FromAgent.
	EventTransferred EventType = "transferred"
	// EventAbandoned: the customer left before anyone answered; Wait.
	EventAbandoned EventType = "abandoned"
	// EventClosed: the conversation ended; Reason is the disposition
	// (e.g. "resolved", "customer_ended") when known.
	EventClosed EventType = "closed"
	// EventAgentTyping: AgentID (AgentName) started (Typing) or stopped
	// typing. Not stored; delivered on a best-effort basis.
	EventAgentTyping EventType = "agent_typing"
)

// Event is one thing that happened to a conversation of the channel.
type Event struct {
	Type           EventType
	ConversationID string
	Channel        Name
	Queue          string
	AgentID        string
	// AgentName is what customers are told of the agent ("Ana").
	AgentName string
	FromAgent string
	Reason    string
	Wait      time.Duration
	Deadline  time.Time
	Typing    bool
	At        time.Time
}

// Address is one of our addresses and where its conversations go.
type Address struct {
	// Value is the address as Inbound.To carries it (E.164 number, mailbox,
	// chat queue name); compared after normalization.
	Value string
	// Queue the conversations go to. Empty: the default queue.
	Queue string
	// Skills an agent needs to be offered them. Nil: none.
	Skills []string
	// Priority is added to each conversation's priority. Zero: none.
	Priority int
}

// Routes is where a channel registers its HTTP routes: an *echo.Echo or an
// *echo.Group mounted at the root of the public URL.
type Routes interface {
	Add(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}

// Place is a waiting conversation's place in line and its queue's honest
// wait estimate.
type Place struct {
	// Position is the 1-based place in the queue; 0 when not waiting.
	Position int
	// Low and High bound the expected wait; Known is false when there is no
	// honest estimate (too few measurements), and then nothing may be
	// promised.
	Low, High time.Duration
	Known     bool
}

// Core is what Switchboard's core offers every channel. The conversation
// rules service implements it; channels depend on nothing else of the core.
type Core interface {
	// Receive stores one inbound message durably before the channel answers
	// its provider: it deduplicates by ProviderID, resolves the customer,
	// threads, appends to the transcript and enqueues a new conversation.
	Receive(ctx context.Context, in Inbound) (Receipt, error)
	// UpdateDelivery records a provider's report on a sent message.
	// ErrUnknownMessage says no sent message carries that provider id.
	UpdateDelivery(ctx context.Context, st DeliveryStatus) error
	// Place is the conversation's place in line and estimate, as they may
	// be told to the customer.
	Place(ctx context.Context, conversationID string) (Place, error)
	// Estimate is the expected wait for a newcomer to queue.
	Estimate(ctx context.Context, queue string) (Place, error)
	// Told records what an automatic message told the customer: the text
	// goes into the transcript for the agent; a wait range, when set, is
	// kept so the accuracy of what we promise is measured.
	Told(ctx context.Context, conversationID, text string, promised Place) error
	// Answered says whether an agent has already replied to the customer.
	// An automatic acknowledgement held back until then (the provider was
	// busy, and replies go first) is not sent: it would tell a customer who
	// has their answer to wait.
	Answered(ctx context.Context, conversationID string) (bool, error)
	// Record adds a system line to the transcript (a call was answered, a
	// callback attempted), shown to agents and never to the customer. One
	// event means more: RecordMissedCallback.
	Record(ctx context.Context, conversationID, event, text string) error
	// Abandon ends a conversation whose customer left before an agent took
	// it (a caller hung up, a visitor closed the chat while waiting).
	Abandon(ctx context.Context, conversationID string) error
	// CustomerEnded closes a conversation the customer ended after an agent
	// took it.
	CustomerEnded(ctx context.Context, conversationID string) error
	// Missed returns an accepted conversation whose agent could not be
	// reached (a softphone that did not pick up) to its original place in
	// line, counted as a missed offer of that agent.
	Missed(ctx context.Context, conversationID, agentID string) error
}

// RecordMissedCallback is the Record event of a callback the customer was
// promised that reached nobody after all its attempts: a promise broken,
// so the core starts service recovery for the customer (a supervisor
// alert, and priority on their next contact).
const RecordMissedCallback = "callback_missed"
