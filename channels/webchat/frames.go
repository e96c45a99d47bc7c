package webchat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Client frame types.
const (
	frameHello   = "hello"
	frameResume  = "resume"
	frameMessage = "message"
	frameTyping  = "typing"
	frameEnd     = "end"
	frameRate    = "rate"
)

// Error codes of the error frame. The widget shows a text of its own per
// code; Message is for people reading logs and the protocol.
const (
	ErrCodeBadFrame     = "bad_frame"     // not JSON, unknown type or a field of the wrong shape
	ErrCodeTooLarge     = "too_large"     // message text over the limit; nothing was stored
	ErrCodeUnauthorized = "unauthorized"  // bad or missing token; the socket closes with 4401
	ErrCodeExpired      = "token_expired" // the token is too old; drop it and say hello without one
	ErrCodeNotReady     = "not_ready"     // a frame other than hello before hello
	ErrCodeNoChat       = "no_chat"       // end or typing without an open conversation
	ErrCodeUnavailable  = "unavailable"   // the message was not stored; resend the same frame id later
	ErrCodeRejected     = "rejected"      // the message was refused for good
	ErrCodeRateLimited  = "rate_limited"  // too many messages; resend the same frame id later
)

// maxFrameOverhead is what a message frame may carry besides its text: the
// JSON punctuation, the type, a frame id and its upload ids. JSON escaping can make one
// character take up to 12 bytes ("\ud83d\ude00" for 2 UTF-16 units), so the
// frame limit derives from the text limit with room for that.
const maxFrameOverhead = 1024 + MaxFilesPerMessage*320

// clientFrame is any frame the widget sends; which fields count depends on
// Type.
type clientFrame struct {
	Type string `json:"type"`
	// hello, resume
	Token        string `json:"token,omitempty"`
	Conversation string `json:"conversation,omitempty"`
	After        string `json:"after,omitempty"`
	Queue        string `json:"queue,omitempty"`
	Session      string `json:"session,omitempty"`
	Name         string `json:"name,omitempty"`
	Email        string `json:"email,omitempty"`
	// message: Files are upload ids (the answers of POST /chat/files); a
	// message with files may have no text.
	ID    string   `json:"id,omitempty"`
	Text  string   `json:"text,omitempty"`
	Files []string `json:"files,omitempty"`
	// typing
	Typing bool `json:"typing,omitempty"`
	// rate: the answer to the survey question (Conversation names it)
	Score   int    `json:"score,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// errBadFrame wraps every reason parseClientFrame refuses a frame.
var errBadFrame = errors.New("bad frame")

// parseClientFrame decodes one frame and checks the shape of its fields.
// Limits that depend on configuration (the text length) are checked by the
// caller, which owes the client a precise reason.
func parseClientFrame(data []byte) (clientFrame, error) {
	f, err := decodeClientFrame(data)
	if err != nil {
		return f, fmt.Errorf("%w: %v", errBadFrame, err)
	}
	switch f.Type {
	case frameHello, frameResume:
		if len(f.Token) > 256 {
			return f, fmt.Errorf("%w: token too long", errBadFrame)
		}
		if f.Conversation != "" && !validID(f.Conversation, 128) {
			return f, fmt.Errorf("%w: conversation", errBadFrame)
		}
		if f.After != "" && !validCursor(f.After) {
			return f, fmt.Errorf("%w: after", errBadFrame)
		}
		if f.Queue != "" && !validQueue(f.Queue) {
			return f, fmt.Errorf("%w: queue", errBadFrame)
		}
		if f.Session != "" && !validID(f.Session, 64) {
			return f, fmt.Errorf("%w: session", errBadFrame)
		}
		if len(f.Name) > 400 || len(f.Email) > 254 {
			return f, fmt.Errorf("%w: name or email too long", errBadFrame)
		}
	case frameMessage:
		if !validID(f.ID, 64) || len(f.ID) < 8 {
			return f, fmt.Errorf("%w: message id must be 8 to 64 letters, digits, - and _", errBadFrame)
		}
		if len(f.Files) > MaxFilesPerMessage {
			return f, fmt.Errorf("%w: at most %d files a message", errBadFrame, MaxFilesPerMessage)
		}
		for _, id := range f.Files {
			if !validUploadID(id) {
				return f, fmt.Errorf("%w: files must be upload ids", errBadFrame)
			}
		}
	case frameTyping, frameEnd:
	case frameRate:
		if !validID(f.Conversation, 128) || f.Score < 1 || f.Score > 5 || len(f.Comment) > maxCommentBytes {
			return f, fmt.Errorf("%w: rate needs a conversation, a score 1 to 5 and a comment of at most %d bytes", errBadFrame, maxCommentBytes)
		}
	case "":
		return f, fmt.Errorf("%w: no type", errBadFrame)
	default:
		return f, fmt.Errorf("%w: unknown type %q", errBadFrame, truncate(f.Type, 32))
	}
	return f, nil
}

// validID accepts ids made of letters, digits, "-" and "_": frame ids,
// session ids and conversation ids, all of which end up in Redis keys.
func validID(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validUploadID accepts the shape of an upload id, "<signature>:<key>":
// at most 300 bytes of letters, digits and -_.:/ with no "..". Whether it
// is genuine is checked against the visitor and conversation later.
func validUploadID(s string) bool {
	if len(s) < 3 || len(s) > 300 || !strings.Contains(s, ":") || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/", r)) {
			return false
		}
	}
	return true
}

// validCursor accepts Redis stream ids ("1700000000000-0").
func validCursor(s string) bool {
	if len(s) > 64 {
		return false
	}
	dash := false
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
		case r == '-' && !dash && i > 0 && i < len(s)-1:
			dash = true
		default:
			return false
		}
	}
	return s != ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Server frames. Every field is documented in docs/protocol.md.

type welcomeFrame struct {
	Type         string       `json:"type"`
	VisitorToken string       `json:"visitor_token"`
	Visitor      string       `json:"visitor"`
	Site         string       `json:"site"`
	MaxLength    int          `json:"max_length"`
	Conversation *convSummary `json:"conversation,omitempty"`
}

type convSummary struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

type messageFrame struct {
	Type         string      `json:"type"`
	ID           string      `json:"id"`
	Conversation string      `json:"conversation"`
	Cursor       string      `json:"cursor,omitempty"`
	From         string      `json:"from"`
	Name         string      `json:"name,omitempty"`
	Text         string      `json:"text"`
	Files        []fileFrame `json:"files,omitempty"`
	FrameID      string      `json:"frame_id,omitempty"`
	At           int64       `json:"at"` // unix milliseconds
	Resumed      bool        `json:"resumed,omitempty"`
}

type estimate struct {
	Low  int `json:"low"`  // seconds
	High int `json:"high"` // seconds
}

type queueFrame struct {
	Type         string    `json:"type"`
	Conversation string    `json:"conversation"`
	Position     int       `json:"position"`
	Estimate     *estimate `json:"estimate"` // null: no honest estimate
	// NobodyOnline: no agent is available for the queue now (or it is
	// outside business hours); the wait lasts until someone comes.
	NobodyOnline bool `json:"nobody_online,omitempty"`
	// Returned: the agent offered this chat did not take it; the visitor
	// keeps their place.
	Returned bool `json:"returned,omitempty"`
}

type agentJoinedFrame struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Name         string `json:"name"`
}

type typingFrame struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Name         string `json:"name,omitempty"`
	Typing       bool   `json:"typing"`
}

type closedFrame struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Reason       string `json:"reason"`
}

// surveyFrame asks the visitor the one question after a resolved chat.
type surveyFrame struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Text         string `json:"text"`
	Scale        int    `json:"scale"`
}

// ratedFrame thanks the visitor for a rating.
type ratedFrame struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Score        int    `json:"score"`
}

// maxCommentBytes bounds a rating's comment.
const maxCommentBytes = 2000

type errorFrame struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
	FrameID string `json:"frame_id,omitempty"`
	Limit   int    `json:"limit,omitempty"`
}

// Reasons of the closed frame.
const (
	ClosedByCustomer = "customer" // the customer ended the chat
	ClosedByAgent    = "agent"    // the agent closed it
	ClosedAbandoned  = "abandoned"
	// ClosedEnded is sent on resume, when the chat closed while the widget
	// was away and who closed it is not known.
	ClosedEnded = "ended"
)

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Every frame is a plain struct of strings and numbers.
		panic(fmt.Sprintf("webchat: encode %T: %v", v, err))
	}
	return b
}

func (s *Server) messageFrameOf(convID string, m Message, visitorID string, resumed bool) messageFrame {
	f := messageFrame{Type: frameMessage, ID: m.ID, Conversation: convID, Cursor: m.Cursor, From: m.From,
		Name: m.Name, Text: m.Text, Files: s.filesOf(convID, m.Attachments), At: m.At.UnixMilli(), Resumed: resumed}
	if m.From == FromCustomer {
		f.FrameID = frameIDOf(visitorID, m.ProviderID)
	}
	return f
}

func queueFrameOf(convID string, pos int, low, high time.Duration, ok bool) queueFrame {
	f := queueFrame{Type: "queue", Conversation: convID, Position: pos}
	if ok && high >= low && low >= 0 {
		f.Estimate = &estimate{Low: int(low / time.Second), High: int((high + time.Second - 1) / time.Second)}
	}
	return f
}

// providerID scopes a widget's frame id to its visitor: the conversation
// service deduplicates by channel and provider id across all customers, and
// a frame id is chosen by the browser, so one visitor must not be able to
// name, and so hide, another's message.
func providerID(visitorID, frameID string) string { return visitorID + ":" + frameID }

// frameIDOf returns the widget's frame id from a stored provider id, or ""
// when it was not this visitor's.
func frameIDOf(visitorID, pid string) string {
	prefix := visitorID + ":"
	if len(pid) > len(prefix) && pid[:len(prefix)] == prefix {
		return pid[len(prefix):]
	}
	return ""
}
