package webchat

import (
	"context"
	"io"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"

	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/realtime"
	"github.com/switchboard/switchboard/internal/survey"
)

// Who wrote a Message.
const (
	FromCustomer = desk.FromCustomer
	FromAgent    = desk.FromAgent
)

// Conversation states a Session reports. The widget shows the place in
// line while queued or offered.
const (
	StateQueued  = desk.ChatQueued
	StateOffered = desk.ChatOffered
	StateActive  = desk.ChatActive
	StateClosed  = desk.ChatClosed
)

// Session is a visitor's chat conversation as the widget needs it.
type Session = desk.ChatSession

// Message is one customer-visible transcript message.
type Message = desk.ChatMessage

// Visitors is what the widget needs of the core beyond channel.Core: a
// visitor's current session and the customer-visible transcript. The desk
// implements it; the visitor id is the chat address of Inbound.From.
type Visitors interface {
	// Current returns the visitor's most recent chat conversation, open or
	// closed, and false when the visitor has none.
	Current(ctx context.Context, visitorID string) (Session, bool, error)
	// Messages returns customer-visible messages of convID after the cursor
	// afterID ("" for the start), oldest first. It may return a page only;
	// an empty result means there is nothing more.
	Messages(ctx context.Context, convID, afterID string) ([]Message, error)
}

// Places tells the widget when queues move and where everyone waiting in
// one stands, so waiting visitors learn their place when it changes instead
// of each socket asking on a timer. The desk implements it on routing's
// live events.
type Places interface {
	// Positions is the 1-based place of every conversation waiting in
	// queue, by conversation id, read at once: one read serves every
	// visitor of the queue.
	Positions(ctx context.Context, queue string) (map[string]int, error)
	// FollowQueues calls moved for every change of a queue's order, on
	// every gateway, with the conversation that moved ("" when only the
	// order changed), until ctx ends; then it returns nil.
	FollowQueues(ctx context.Context, moved func(convID, queue string)) error
}

// Typing is told when a customer starts or stops typing, so the agent
// console can show it.
type Typing interface {
	CustomerTyping(ctx context.Context, convID string, typing bool) error
}

// Contacts takes the optional pre-chat details for the customer the
// visitor's first message was stored under (channel.Receipt.CustomerID).
// The email address is what the visitor typed and is not verified: it
// must be shown to agents, never used to merge the visitor into another
// customer.
type Contacts interface {
	SetContact(ctx context.Context, customerID, name, email string) error
}

// Availability says whether anyone can answer a queue's chats now. The
// desk implements it from the queue's business hours and routing's agents.
type Availability interface {
	Availability(ctx context.Context, queue string) (Status, error)
}

// Ratings records a visitor's answer to the one question asked after a
// resolved chat (internal/survey implements it). Rate fails with an error
// wrapping ErrRated when the survey was answered already, ErrNoSurvey when
// there is none. OpenQuestion is the question the visitor was asked while
// an answer still counts (ok false otherwise), shown again to a widget
// that comes back to the closed chat: a reload must not lose it.
type Ratings interface {
	Rate(ctx context.Context, convID string, score int, comment string) error
	OpenQuestion(ctx context.Context, convID string) (question string, ok bool, err error)
}

// Errors of Ratings.Rate; the survey's own sentinel errors, so errors.Is
// matches them without this channel importing the survey.
var (
	ErrRated    = survey.ErrRated
	ErrNoSurvey = survey.ErrNotFound
)

// Files keeps what visitors attach and opens what they may download: the
// attachment store, with the one size limit and type allow-list the
// console's uploads have. The conversation service implements it.
type Files interface {
	// StoreUpload stores a file a person uploaded; errors wrap
	// conversation.ErrTooLarge or conversation.ErrUnsupportedType when the
	// file is refused, and nothing is kept then.
	StoreUpload(ctx context.Context, name string, r io.Reader) (channel.Attachment, error)
	// OpenAttachment opens a stored file; conversation.ErrNotFound when
	// there is none.
	OpenAttachment(ctx context.Context, storedPath string) (io.ReadSeekCloser, conversation.AttachmentInfo, error)
	// MaxAttachmentBytes is the per-file limit.
	MaxAttachmentBytes() int64
}

// Status is whether a queue's chats are answered now.
type Status = desk.ChatAvailability

// Deps are what the channel needs besides channel.Core. Hub and Visitors
// are required; Places, Typing, Contacts and Availability may be nil:
// without Places a visitor is told their place when they join and when
// their conversation's own events move it, not when others ahead of them
// leave; without Typing no customer typing indicator; without Contacts the
// email field is not used; without Availability no "nobody is available,
// leave a message" form (the widget always offers a live chat). The desk
// satisfies all five interfaces.
type Deps struct {
	Hub          *realtime.Hub
	Visitors     Visitors
	Places       Places
	Typing       Typing
	Contacts     Contacts
	Availability Availability
	// Ratings takes the survey's answers; nil: the widget's rate frame is
	// refused.
	Ratings Ratings
	// Files stores visitors' attachments and serves the conversation's
	// files to its visitor; nil: the widget offers no attachments and
	// shows agents' files by name only.
	Files Files
}
