package webchat

import (
	"context"
	"time"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/realtime"
)

// Who wrote a Message.
const (
	FromCustomer = "customer"
	FromAgent    = "agent"
)

// Conversation states a Session reports, as the conversation service names
// them. The widget shows the place in line while queued or offered.
const (
	StateQueued  = "queued"
	StateOffered = "offered"
	StateActive  = "active"
	StateClosed  = "closed"
)

// Session is a visitor's chat conversation as the widget needs it.
type Session struct {
	ConversationID string
	// Queue is the routing queue the conversation waits in, for the wait
	// estimate.
	Queue string
	// State is StateQueued, StateOffered, StateActive or StateClosed (any
	// other final state counts as closed).
	State string
	// AgentName is the display name of the agent serving the conversation,
	// when State is StateActive.
	AgentName string
}

// Message is one customer-visible transcript message. Internal notes and
// system entries are never Messages.
type Message struct {
	// ID is the message id; the widget shows each id once.
	ID string
	// Cursor is the transcript position (stream id) the widget resumes
	// after.
	Cursor string
	// From is FromCustomer or FromAgent.
	From string
	// Name is the agent's display name on agent messages.
	Name string
	Text string
	// ProviderID is the Inbound.ProviderID the message was received with,
	// as stored; it lets the widget match a message to the frame it sent.
	ProviderID string
	At         time.Time
}

// Transcript is what the widget reads and changes of a visitor's
// conversations. The conversation service implements it (adapted in the
// wiring); the visitor id is the chat address of conversation.Inbound.From.
type Transcript interface {
	// Current returns the visitor's most recent chat conversation, open or
	// closed, and false when the visitor has none.
	Current(ctx context.Context, visitorID string) (Session, bool, error)
	// Messages returns customer-visible messages of convID after the cursor
	// afterID ("" for the start), oldest first. It may return a page only;
	// an empty result means there is nothing more.
	Messages(ctx context.Context, convID, afterID string) ([]Message, error)
	// End closes convID because the customer ended the chat. Ending a
	// closed conversation is not an error.
	End(ctx context.Context, convID string) error
}

// Queue reports a waiting conversation's place in line and its queue's wait
// estimate. Routing implements it (adapted in the wiring).
type Queue interface {
	// Position is the conversation's 1-based place in its queue; ok is
	// false when it is not waiting (offered, accepted or closed).
	Position(ctx context.Context, convID string) (pos int, ok bool, err error)
	// Estimate is the queue's expected wait for a newcomer as a range; ok is
	// false when there is no honest estimate (too few measurements).
	Estimate(ctx context.Context, queue string) (low, high time.Duration, ok bool, err error)
}

// Typing is told when a customer starts or stops typing, so the agent
// console can show it.
type Typing interface {
	CustomerTyping(ctx context.Context, convID string, typing bool) error
}

// Contacts takes the optional pre-chat details. The email address is what
// the visitor typed and is not verified: it must be shown to agents, never
// used to merge the visitor into another customer.
type Contacts interface {
	SetContact(ctx context.Context, convID, visitorID, name, email string) error
}

// Availability says whether anyone can answer a queue's chats now. The
// wiring implements it from the queue's business hours and routing's agents.
type Availability interface {
	Availability(ctx context.Context, queue string) (Status, error)
}

// Status is whether a queue's chats are answered now.
type Status struct {
	// Open is false outside the queue's business hours.
	Open bool
	// Opens says when they begin again, in the customer's words ("tomorrow
	// at 09:00 CET"); empty when open or unknown.
	Opens string
	// AgentsOnline counts agents available for the queue's chats now, busy
	// or not. Zero: nobody would see a chat until someone comes online.
	AgentsOnline int
}

// Deps are the services the channel talks to. Hub, Receiver and Transcript
// are required; Queue, Typing, Contacts and Availability may be nil, which
// turns off the place in line, the customer typing indicator, the email
// field's use and the "nobody is available, leave a message" form (the
// widget then always offers a live chat).
type Deps struct {
	Hub          *realtime.Hub
	Receiver     conversation.Receiver
	Transcript   Transcript
	Queue        Queue
	Typing       Typing
	Contacts     Contacts
	Availability Availability
}
