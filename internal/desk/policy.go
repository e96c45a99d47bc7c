package desk

import (
	"fmt"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/routing"
)

// Actor is who asks: an agent's or supervisor's console, or an API caller
// (a signed-in account or an integration token, which carries a role).
type Actor struct {
	// AccountID is the account id, or "token:<name>" for an integration
	// token.
	AccountID string    `json:"id"`
	Name      string    `json:"name"`
	Role      auth.Role `json:"role"`
	// Token is set for an API token: not a person, with no agent state
	// and no queue, so the consoles refuse it (403).
	Token bool `json:"-"`
}

// supervises reports whether the actor sees every conversation.
func (a Actor) supervises() bool { return a.Role.AtLeast(auth.RoleSupervisor) }

// Action is something an actor does to a conversation.
type Action string

// The actions the decision table rules.
const (
	See          Action = "see" // read it, its transcript and its customer
	Accept       Action = "accept"
	Decline      Action = "decline"
	Reply        Action = "reply"
	Note         Action = "note"
	Close        Action = "close"
	Transfer     Action = "transfer"
	Assign       Action = "assign" // a supervisor's force-assign to a named agent
	EditCustomer Action = "edit_customer"
	// MergeCustomer folds another customer the actor may also see into this
	// conversation's customer.
	MergeCustomer Action = "merge_customer"
	// LinkAddress adds an address to the customer, merging in whoever owns
	// it now: a customer the actor may never have served.
	LinkAddress Action = "link_address"
	// Promise records a follow-up promise on the conversation (package
	// promise): the holder's, or a supervisor's on a conversation someone
	// holds.
	Promise Action = "promise"
	// KeepPromise marks a promise of the conversation kept, or cancels it
	// (broken); like notes, also after the close.
	KeepPromise Action = "keep_promise"
)

// Actions lists every action, in the table's order.
var Actions = []Action{See, Accept, Decline, Reply, Note, Close, Transfer, Assign, EditCustomer, MergeCustomer, LinkAddress, Promise, KeepPromise}

// Standing is a conversation's state as seen by one actor.
type Standing int

// The standings, the table's columns.
const (
	Waiting        Standing = iota // in a queue, offered to nobody
	OfferedToMe                    // offered to the actor, not accepted yet
	OfferedToOther                 // offered to someone else
	ActiveMine                     // accepted by the actor
	ActiveOther                    // accepted by someone else
	WrapUp                         // closed by the actor, who is finishing notes
	ClosedMine                     // over; the actor served it last
	ClosedOther                    // over; someone else served it (or nobody)
)

// Standings lists every standing, in the table's column order.
var Standings = []Standing{Waiting, OfferedToMe, OfferedToOther, ActiveMine, ActiveOther, WrapUp, ClosedMine, ClosedOther}

func (s Standing) String() string {
	return [...]string{"waiting", "offered-to-me", "offered-to-other", "active-mine", "active-other",
		"wrap-up", "closed-mine", "closed-other"}[s]
}

// Open reports whether the conversation is not over.
func (s Standing) Open() bool { return s <= ActiveOther }

// table is the one decision table: for each action, one row for agents and
// one for supervisors and admins, one letter per standing in Standings
// order:
//
//	y allowed   n ErrNotFound (may not even see it)   f ErrForbidden
//	g ErrOfferGone   c ErrClosed
//
// An agent sees what is offered or assigned to them and what they served;
// supervisors see everything. Only the holder replies, except that
// supervisors (and integrations with that role) may answer any open
// conversation. Notes may be added after the close (wrap-up is for notes).
// Closing is the holder's, or a supervisor's for anyone's, including a
// waiting one (spam); closing a closed conversation again changes nothing
// and succeeds, so a retried close is safe. Linking an address merges its owner's whole history
// in: a supervisor's call. A promise is made on a conversation someone
// holds (its holder owns it); keeping or cancelling one is like a note.
var table = map[Action][2]string{
	//               waiting, offered me/other, active me/other, wrap-up, closed me/other
	See:           {"nynynyyn", "yyyyyyyy"},
	Accept:        {"nyngnggn", "gygggggg"},
	Decline:       {"nyngnggn", "gygggggg"},
	Reply:         {"nfnynccn", "yyyyyccc"},
	Note:          {"nfnynyyn", "yyyyyyyy"},
	Close:         {"nfnynyyn", "yfyyyyyy"},
	Transfer:      {"nfnynccn", "yfyyyccc"},
	Assign:        {"nfnfnffn", "yyyyyccc"},
	EditCustomer:  {"nynynyyn", "yyyyyyyy"},
	MergeCustomer: {"nynynyyn", "yyyyyyyy"},
	LinkAddress:   {"nfnfnffn", "yyyyyyyy"},
	Promise:       {"nfnynccn", "fffyyccc"},
	KeepPromise:   {"nfnynyyn", "yyyyyyyy"},
}

// Decide is the decision table: nil when the actor may do action to a
// conversation in standing s, else the error to answer with.
func Decide(who Actor, action Action, s Standing) error {
	row, ok := table[action]
	if !ok || !who.Role.Valid() {
		return fmt.Errorf("%w: %s", ErrNotFound, action)
	}
	cells := row[0]
	if who.supervises() {
		cells = row[1]
	}
	switch cells[s] {
	case 'y':
		return nil
	case 'f':
		return fmt.Errorf("%w: %s a conversation %s", ErrForbidden, action, s)
	case 'g':
		return fmt.Errorf("%w: %s a conversation %s", ErrOfferGone, action, s)
	case 'c':
		return fmt.Errorf("%w: %s a conversation %s", ErrClosed, action, s)
	}
	return fmt.Errorf("%w: conversation", ErrNotFound)
}

// DecideStart is the rule for starting a conversation to a customer
// (proactive outbound), which has no conversation and so no standing yet:
// nil when who may start one held by agentID, on a queue and channel that
// agent serves (serves, from routing's profile of the agent), else the
// error to answer with.
//
// An agent starts conversations for themselves only, on the queues and
// channels they serve. Supervisors and admins, and integration tokens with
// that role, start them for any agent who serves the queue and channel; a
// token must name the agent, since a token is nobody's console.
func DecideStart(who Actor, agentID string, serves bool) error {
	switch {
	case !who.Role.Valid():
		return fmt.Errorf("%w: start a conversation", ErrForbidden)
	case agentID == "":
		return fmt.Errorf("%w: agent_id: an integration names the agent who holds the conversation", ErrInvalid)
	case !who.supervises() && agentID != who.AccountID:
		return fmt.Errorf("%w: agents start conversations for themselves only", ErrForbidden)
	case !serves && !who.supervises():
		return fmt.Errorf("%w: you do not serve that queue on that channel", ErrForbidden)
	case !serves:
		return fmt.Errorf("%w: agent %s does not serve that queue on that channel", ErrInvalid, agentID)
	}
	return nil
}

// accessEnds is the rule of losing a conversation: the agent whose access
// to ev's conversation ends with ev, or "" for none. An agent holds a
// conversation while it is offered or assigned to them; these routing
// events take it away, whoever caused them:
//
//	declined     the agent handed the offer back (on any of their consoles)
//	expired      the offer lapsed, or was withdrawn when the agent went
//	             (or a supervisor set them) away or offline
//	abandoned    the customer left while it was offered to the agent
//	transferred  the agent's conversation went to a queue or another agent
//	             (their own transfer, a supervisor's transfer or reassign)
//
// Closing is the third way (Desk.closed): the holder's consoles stop
// receiving it after the closing line, whoever closed it. A supervisor
// keeps seeing everything on request; this only ends the live feed.
func accessEnds(ev routing.Event) string {
	switch ev.Type {
	case routing.EventDeclined, routing.EventExpired, routing.EventAbandoned:
		return ev.AgentID
	case routing.EventTransferred:
		if ev.FromAgent != ev.AgentID {
			return ev.FromAgent
		}
	}
	return ""
}
