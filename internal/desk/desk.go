package desk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/hours"
	"github.com/switchboard/switchboard/internal/promise"
	"github.com/switchboard/switchboard/routing"
)

// Consoles is how the desk tells agents' and supervisors' consoles what
// changed. agentui implements it on the realtime hub; every method is
// best-effort (a console that missed a frame resumes from stream ids).
type Consoles interface {
	// Offer rings agentID's console.
	Offer(ctx context.Context, agentID string, o Offer)
	// OfferRevoked takes an offer off agentID's console (RevokedTimeout,
	// RevokedTaken, RevokedCancelled).
	OfferRevoked(ctx context.Context, agentID, convID, reason string)
	// Assigned adds a conversation to agentID's console.
	Assigned(ctx context.Context, agentID string, c Conversation)
	// Unassigned takes a conversation away from agentID's console. The
	// desk revokes the agent's access first (Revoke).
	Unassigned(ctx context.Context, agentID, convID, reason string)
	// Revoke ends every subscription agentID's consoles hold to convID, on
	// every gateway: the agent lost access to it (accessEnds). The desk
	// calls it before any frame that tells the console why, so nothing of
	// the conversation reaches the agent after that frame. Unlike the
	// frames it must not be lost quietly: an implementation logs a failure.
	Revoke(ctx context.Context, agentID, convID string)
	// AgentState tells agentID's console its state changed.
	AgentState(ctx context.Context, agentID string, st AgentState)
	// Message is a new transcript line for everyone watching the conversation.
	Message(ctx context.Context, m Message)
	// MessageStatus is a reply's new delivery status.
	MessageStatus(ctx context.Context, convID, messageID, status, errText string)
	// Closed tells watchers the conversation ended.
	Closed(ctx context.Context, convID, by, disposition string, at time.Time)
	// Typing shows that the customer (who "customer") or an agent is typing.
	Typing(ctx context.Context, convID, who, name string, on bool)
}

// Reasons an offer is taken off a console.
const (
	RevokedTimeout   = "timeout"   // the deadline passed
	RevokedTaken     = "taken"     // a supervisor gave it to someone else
	RevokedCancelled = "cancelled" // the customer left before anyone accepted
)

// Params build a Desk. Engine, Conversations and Auth are required.
type Params struct {
	Engine        *routing.Engine
	Conversations *conversation.Service
	Auth          *auth.Service
	// Consoles are told of offers, assignments and transcript lines. Nil:
	// no console is (tests of the rules alone).
	Consoles Consoles
	// Canned are the saved replies of the "/" search. Nil: three built-in.
	Canned []Canned
	// Hours are the queues' business hours, told to chat visitors
	// (Availability). Nil: every queue always open.
	Hours hours.Source
	// Promises records and fires follow-up promises (package promise).
	// Nil: promises are off (the promise actions answer ErrInvalid).
	Promises *promise.Service
	// Timeline are further sources of a customer's timeline (ratings,
	// recovery notes), merged with conversations and promises. Nil: none.
	Timeline []TimelineSource
	// Surveys hears of closes (from Aftercare, when the wiring runs it) and
	// reads inbound replies first. Nil: no satisfaction surveys.
	Surveys Surveys
	// Recovery is service recovery: the console's banner and the agent's
	// note. Nil: none.
	Recovery Recoveries
	// Location is the workspace zone, for dates shown to agents. Nil: UTC.
	Location *time.Location
	// Logger receives what a reaction cannot return. Nil: discard.
	Logger *slog.Logger
}

// Desk is the contact desk. It holds no state beyond its collaborators,
// the channels registered with AddChannel and brief memories that save
// reads (the agent list, agents' names, closes recorded here); any number
// of gateways run one each against the same Redis.
type Desk struct {
	engine   *routing.Engine
	convs    *conversation.Service
	auth     *auth.Service
	consoles Consoles
	canned   []Canned
	hours    hours.Source
	promises *promise.Service
	timeline []TimelineSource
	surveys  Surveys
	recovery Recoveries
	loc      *time.Location
	log      *slog.Logger

	// agents caches routing's agent list for Availability; agentsMu is
	// held through a refresh, so concurrent callers share one read.
	agentsMu sync.Mutex
	agents   []routing.AgentStatus
	agentsAt time.Time

	agentNames agentNameCache
	closedHere closedHere

	mu        sync.RWMutex
	observers map[channel.Name]channel.Observer
	// channels are the registered channels, for starting conversations
	// (their addresses, and channel.Reachability).
	channels map[channel.Name]channel.Channel
}

// New checks p and builds a Desk.
func New(p Params) (*Desk, error) {
	if p.Engine == nil || p.Conversations == nil || p.Auth == nil {
		return nil, errors.New("desk: Params.Engine, Conversations and Auth are required")
	}
	d := &Desk{engine: p.Engine, convs: p.Conversations, auth: p.Auth, consoles: p.Consoles,
		canned: p.Canned, hours: p.Hours, promises: p.Promises, timeline: p.Timeline, surveys: p.Surveys,
		recovery: p.Recovery, loc: p.Location, log: p.Logger,
		observers: map[channel.Name]channel.Observer{}, channels: map[channel.Name]channel.Channel{}}
	if d.consoles == nil {
		d.consoles = noConsoles{}
	}
	if d.canned == nil {
		d.canned = DefaultCanned()
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

// DefaultCanned are the saved replies offered when the configuration has none.
func DefaultCanned() []Canned {
	return []Canned{
		{Shortcut: "hello", Title: "Greeting", Text: "Hi, thanks for reaching out. I'm looking into this for you now."},
		{Shortcut: "moment", Title: "One moment", Text: "Thanks for waiting — give me a moment to check."},
		{Shortcut: "bye", Title: "Closing", Text: "Is there anything else I can help with? If not, have a great day."},
	}
}

// AddChannel registers a channel: conversations opened on its addresses go
// to their queues, the conversation service sends its replies through it,
// and when it implements channel.Observer it is told of its conversations'
// routing events. Call before the gateway serves.
func (d *Desk) AddChannel(ch channel.Channel) {
	for _, a := range ch.Addresses() {
		d.convs.AddRoute(a.Value, conversation.Route{Queue: a.Queue, Skills: a.Skills, Priority: a.Priority})
	}
	d.convs.AddSender(ch.Name(), ch)
	d.mu.Lock()
	d.channels[ch.Name()] = ch
	if o, ok := ch.(channel.Observer); ok {
		d.observers[ch.Name()] = o
	}
	d.mu.Unlock()
}

func (d *Desk) observer(name channel.Name) channel.Observer {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.observers[name]
}

// holder says who holds the conversation and in which routing state.
// Routing decides offers and accepts atomically, so its state is the
// authority; the conversation record follows it through the event stream
// and may lag by a moment. Once routing has forgotten a finished
// conversation, the record is all there is.
func (d *Desk) holder(ctx context.Context, conv conversation.Conversation) (agentID string, st routing.ConvState) {
	return d.holderFrom(ctx, conv, d.readHold(conv.ID))
}

// holdRead is what says who holds a conversation besides its record:
// routing's view, and whether it waits for a promise (then routing let go
// of it on purpose). Both can ride in the record's round trip (authorize);
// else each reads alone when asked.
type holdRead struct {
	routing *routing.HolderRead
	waiting *promise.WaitingRead // nil when promises are off
}

func (d *Desk) readHold(convID string) holdRead {
	return holdRead{routing: d.engine.ReadHolder(convID), waiting: d.readWaiting(convID)}
}

// readWaiting prepares the read of whether convID waits for a promise;
// nil when promises are off.
func (d *Desk) readWaiting(convID string) *promise.WaitingRead {
	if d.promises == nil {
		return nil
	}
	return d.promises.ReadWaiting(convID)
}

// along lists the reads for conversation.Service.ConversationAlong.
func (h holdRead) along() []conversation.Along {
	if h.waiting == nil {
		return []conversation.Along{h.routing}
	}
	return []conversation.Along{h.routing, h.waiting}
}

// heldFrom is holderFrom with routing's accept of the holder, when
// routing has it active or in wrap-up (read in the same round trip).
func (d *Desk) heldFrom(ctx context.Context, conv conversation.Conversation, h holdRead) held {
	agent, st := d.holderFrom(ctx, conv, h)
	return held{agent: agent, state: st, accepted: h.routing.AcceptedAt()}
}

// holderFrom is holder with the reads prepared (and perhaps already made
// along with the record's, authorize).
func (d *Desk) holderFrom(ctx context.Context, conv conversation.Conversation, h holdRead) (agentID string, st routing.ConvState) {
	if agentID, st, err := h.routing.Result(ctx); err == nil {
		// A conversation waiting for a promise was let go by routing on
		// purpose: its record, still open, is the authority then.
		if st != routing.ConvClosed || !conv.Open() || !d.waited(ctx, conv.ID, h.waiting) {
			return agentID, st
		}
	}
	switch conv.State {
	case conversation.StateQueued:
		return "", routing.ConvWaiting
	case conversation.StateOffered:
		return conv.AgentID, routing.ConvOffered
	case conversation.StateActive:
		return conv.AgentID, routing.ConvActive
	}
	return conv.AgentID, routing.ConvClosed
}

// standing is the conversation's state as who sees it.
func (d *Desk) standing(ctx context.Context, who Actor, conv conversation.Conversation) Standing {
	holder, st := d.holder(ctx, conv)
	return standingOf(who, conv, holder, st)
}

// standingOf is the standing who has in conv, which holder holds in
// routing state st.
func standingOf(who Actor, conv conversation.Conversation, holder string, st routing.ConvState) Standing {
	mine := holder != "" && holder == who.AccountID
	if !conv.Open() && st != routing.ConvWrapUp {
		// The record is final; routing may not have let go of an old state.
		st = routing.ConvClosed
	}
	switch st {
	case routing.ConvWaiting:
		return Waiting
	case routing.ConvOffered:
		if mine {
			return OfferedToMe
		}
		return OfferedToOther
	case routing.ConvActive:
		if mine {
			return ActiveMine
		}
		return ActiveOther
	case routing.ConvWrapUp:
		if mine {
			return WrapUp
		}
		return ClosedOther
	}
	if conv.AgentID != "" && conv.AgentID == who.AccountID {
		return ClosedMine
	}
	return ClosedOther
}

// held is who holds a conversation (agent), in which routing state, and
// since when (routing's accept; zero when unknown): a close's handle time
// counts from it.
type held struct {
	agent    string
	state    routing.ConvState
	accepted time.Time
}

// access is what authorize read and decided: the record, who holds the
// conversation in which routing state, and the standing of the actor. An
// action goes on from it instead of reading the conversation again.
type access struct {
	conv conversation.Conversation
	held
	s       Standing
	waiting *promise.WaitingRead // read along the record (closing asks)
}

// authorize loads the conversation and checks that who may do action to
// it now. The record, routing's view of it and whether it waits for a
// promise are read in one round trip.
func (d *Desk) authorize(ctx context.Context, who Actor, action Action, convID string) (access, error) {
	h := d.readHold(convID)
	conv, err := d.convs.ConversationAlong(ctx, convID, h.along()...)
	if err != nil {
		return access{}, mapErr(err)
	}
	a := access{conv: conv, held: d.heldFrom(ctx, conv, h), waiting: h.waiting}
	a.s = standingOf(who, conv, a.agent, a.state)
	if err := Decide(who, action, a.s); err != nil {
		return access{s: a.s}, fmt.Errorf("desk: conversation %s: %w", convID, err)
	}
	return a, nil
}

// Standing is the conversation's state as who sees it, for callers that
// show what may be done (and for the tests of the table).
func (d *Desk) Standing(ctx context.Context, who Actor, convID string) (Standing, error) {
	h := d.readHold(convID)
	conv, err := d.convs.ConversationAlong(ctx, convID, h.along()...)
	if err != nil {
		return 0, mapErr(err)
	}
	holder, st := d.holderFrom(ctx, conv, h)
	return standingOf(who, conv, holder, st), nil
}

// agentName is an agent's display name as customers and colleagues see it:
// routing's (from the configuration file or the account at first login),
// else the account's, else the id.
func (d *Desk) agentName(ctx context.Context, agentID string) string {
	return d.namesOf(ctx, agentID).full
}

// shownName is what customers are told of an agent ("Ana has joined"):
// the account's display name, set by an admin or the agent, else the
// first word of the agent's name, "Ana", not "Ana Lima".
func (d *Desk) shownName(ctx context.Context, agentID string) string {
	return d.namesOf(ctx, agentID).shown
}

type noConsoles struct{}

func (noConsoles) Offer(context.Context, string, Offer)                          {}
func (noConsoles) OfferRevoked(context.Context, string, string, string)          {}
func (noConsoles) Assigned(context.Context, string, Conversation)                {}
func (noConsoles) Unassigned(context.Context, string, string, string)            {}
func (noConsoles) Revoke(context.Context, string, string)                        {}
func (noConsoles) AgentState(context.Context, string, AgentState)                {}
func (noConsoles) Message(context.Context, Message)                              {}
func (noConsoles) MessageStatus(context.Context, string, string, string, string) {}
func (noConsoles) Closed(context.Context, string, string, string, time.Time)     {}
func (noConsoles) Typing(context.Context, string, string, string, bool)          {}
