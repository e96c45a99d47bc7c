package agentui

import (
	"encoding/json"
	"time"

	"github.com/switchboard/switchboard/internal/desk"
)

// Topics. The wiring publishes agent events on AgentTopic and conversation
// events on ConvTopic; the handler subscribes each console accordingly.

// AgentTopic is the hub topic of one agent's console: offer, offer_revoked,
// assigned, unassigned and state frames.
func AgentTopic(agentID string) string { return "agent:" + agentID }

// ConvTopic is the hub topic of one conversation: message, message_status,
// typing and conversation_closed frames. Every console showing the
// conversation subscribes to it.
func ConvTopic(convID string) string { return "conv:" + convID }

// Frame types the server sends. docs/protocol.md describes each.
const (
	FrameHello              = "hello"
	FrameAck                = "ack"
	FrameError              = "error"
	FrameOffer              = "offer"
	FrameOfferRevoked       = "offer_revoked"
	FrameAssigned           = "assigned"
	FrameUnassigned         = "unassigned"
	FrameState              = "state"
	FrameMessage            = "message"
	FrameMessageStatus      = "message_status"
	FrameTyping             = "typing"
	FrameConversationClosed = "conversation_closed"
)

// Reasons for FrameOfferRevoked.
const (
	RevokedTimeout   = desk.RevokedTimeout   // the deadline passed
	RevokedTaken     = desk.RevokedTaken     // another agent or a supervisor took it
	RevokedCancelled = desk.RevokedCancelled // the customer left before anyone accepted
)

type offerFrame struct {
	Type  string     `json:"type"`
	Offer desk.Offer `json:"offer"`
}

// OfferFrame announces an offer; publish it on AgentTopic(agent).
func OfferFrame(o desk.Offer) []byte { return encode(offerFrame{FrameOffer, o}) }

type convReasonFrame struct {
	Type   string `json:"type"`
	Conv   string `json:"conv"`
	Reason string `json:"reason,omitempty"`
}

// OfferRevokedFrame withdraws an offer (reason: RevokedTimeout, RevokedTaken
// or RevokedCancelled); publish it on AgentTopic(agent).
func OfferRevokedFrame(convID, reason string) []byte {
	return encode(convReasonFrame{FrameOfferRevoked, convID, reason})
}

// UnassignedFrame tells a console that a conversation left it without the
// agent asking (a supervisor transferred it away); publish it on
// AgentTopic(agent).
func UnassignedFrame(convID, reason string) []byte {
	return encode(convReasonFrame{FrameUnassigned, convID, reason})
}

type assignedFrame struct {
	Type         string            `json:"type"`
	Conversation desk.Conversation `json:"conversation"`
}

// AssignedFrame adds a conversation to the agent's list (after an accept,
// on any of the agent's consoles, or a transfer to the agent); publish it on
// AgentTopic(agent). The console then subscribes to the conversation by
// sending resume.
func AssignedFrame(c desk.Conversation) []byte { return encode(assignedFrame{FrameAssigned, c}) }

type stateFrame struct {
	Type string `json:"type"`
	desk.AgentState
}

// StateFrame reports the agent's availability, e.g. after routing set the
// agent away for missed offers; publish it on AgentTopic(agent).
func StateFrame(s desk.AgentState) []byte { return encode(stateFrame{FrameState, s}) }

type messageFrame struct {
	Type    string       `json:"type"`
	Message desk.Message `json:"message"`
}

// MessageFrame carries one new transcript entry (customer message, agent
// reply, note or system line); publish it on ConvTopic(conv).
func MessageFrame(m desk.Message) []byte { return encode(messageFrame{FrameMessage, m}) }

type messageStatusFrame struct {
	Type      string `json:"type"`
	Conv      string `json:"conv"`
	MessageID string `json:"message_id"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
}

// MessageStatusFrame reports a delivery status change of an agent reply
// (StatusSent, StatusDelivered, StatusFailed with errText); publish it on
// ConvTopic(conv).
func MessageStatusFrame(convID, messageID, status, errText string) []byte {
	return encode(messageStatusFrame{FrameMessageStatus, convID, messageID, status, errText})
}

type typingFrame struct {
	Type string `json:"type"`
	Conv string `json:"conv"`
	Who  string `json:"who"`
	Name string `json:"name,omitempty"`
	On   bool   `json:"on"`
}

// TypingFrame says who ("customer", or an agent id) started (on) or stopped
// typing; publish it on ConvTopic(conv). Consoles hide an indicator by
// themselves 6 s after the last "on", so a lost "off" does no harm.
func TypingFrame(convID, who, name string, on bool) []byte {
	return encode(typingFrame{FrameTyping, convID, who, name, on})
}

type closedFrame struct {
	Type        string    `json:"type"`
	Conv        string    `json:"conv"`
	By          string    `json:"by"`
	Disposition string    `json:"disposition,omitempty"`
	At          time.Time `json:"at"`
}

// ConversationClosedFrame says the conversation ended; by is "customer",
// "system" or the closing agent's id. Publish it on ConvTopic(conv).
func ConversationClosedFrame(convID, by, disposition string, at time.Time) []byte {
	return encode(closedFrame{FrameConversationClosed, convID, by, disposition, at.UTC()})
}

// encode marshals a frame. The frame types above hold only strings, times
// and numbers, so Marshal cannot fail.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("agentui: encode frame: " + err.Error())
	}
	return b
}
