package agentui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/realtime"
)

// Client frame types. docs/protocol.md describes each.
const (
	ReqState     = "state"
	ReqHeartbeat = "heartbeat"
	ReqAccept    = "accept"
	ReqDecline   = "decline"
	ReqReply     = "reply"
	ReqNote      = "note"
	ReqClose     = "close"
	ReqTransfer  = "transfer"
	ReqTyping    = "typing"
	ReqResume    = "resume"
	ReqLeave     = "leave"
	ReqSync      = "sync"
	ReqCustomer  = "customer"
	ReqDirectory = "directory"
	// ReqRecoveryNote records what the agent did for a customer in service
	// recovery (Backends that implement RecoveryNoter).
	ReqRecoveryNote = "recovery_note"
)

// Error codes sent in ack and error frames.
const (
	CodeBadFrame    = "bad_frame"
	CodeTooLarge    = "too_large"
	CodeRateLimited = "rate_limited"
	CodeUnknownType = "unknown_type"
	CodeInvalid     = "invalid"
	CodeForbidden   = "forbidden"
	CodeNotFound    = "not_found"
	CodeOfferGone   = "offer_gone"
	CodeClosed      = "closed"
	CodeInternal    = "internal"
)

// maxRequestID bounds the id a client chooses, which we echo back.
const maxRequestID = 64

// request is one client frame. Unused fields stay empty.
type request struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	Conv        string `json:"conv"`
	State       string `json:"state"`
	Reason      string `json:"reason"`
	Text        string `json:"text"`
	Disposition string `json:"disposition"`
	Queue       string `json:"queue"`
	Agent       string `json:"agent"`
	AfterID     string `json:"after_id"`
	On          bool   `json:"on"`
}

type ackFrame struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	OK      bool   `json:"ok"`
	Data    any    `json:"data,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"error,omitempty"`
}

type errorFrame struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"error"`
}

type helloFrame struct {
	Type     string        `json:"type"`
	Snapshot desk.Snapshot `json:"snapshot"`
	// ServerTime lets the console count offer deadlines down on the
	// server's clock, whatever its own clock says.
	ServerTime        time.Time `json:"server_time"`
	HeartbeatInterval int       `json:"heartbeat_ms"`
	MaxTextBytes      int       `json:"max_text_bytes"`
	// AttachAccept is the allow-list of files the composer may attach, as a
	// file input's accept attribute: the one list uploads are checked by.
	AttachAccept string `json:"attach_accept"`
}

// session is the protocol state of one console connection.
type session struct {
	h     *Handler
	agent desk.Actor

	// tokens and refilled are the frame rate limit's bucket; only the
	// reader goroutine touches them.
	tokens   float64
	refilled time.Time
}

func newSession(h *Handler, p desk.Actor) *session {
	return &session{h: h, agent: p,
		tokens: float64(h.cfg.FrameBurst), refilled: time.Now()}
}

// allow takes one token from the bucket, refilled at FrameRate per second
// up to FrameBurst.
func (s *session) allow(now time.Time) bool {
	s.tokens += now.Sub(s.refilled).Seconds() * s.h.cfg.FrameRate
	s.refilled = now
	if burst := float64(s.h.cfg.FrameBurst); s.tokens > burst {
		s.tokens = burst
	}
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// start subscribes the agent's topic before reading the snapshot, so no
// event falls between the two, then the snapshot's conversations, then
// greets the client.
func (s *session) start(conn *realtime.Conn) {
	ctx, cancel := context.WithTimeout(conn.Context(), s.h.cfg.RequestTimeout)
	defer cancel()
	if err := s.setUp(ctx, conn); err != nil {
		// A client that left while we set up is not worth a warning.
		if conn.Context().Err() == nil {
			s.h.cfg.Logger.Warn("agentui: console setup failed", "agent", s.agent.AccountID, "err", err)
			conn.Close(realtime.CloseInternalError, "setup failed: reconnect")
		}
		return
	}
}

// gapResyncSpread spreads the consoles' resyncs after a Redis drop over
// this long, so they do not all read their snapshots at once.
const gapResyncSpread = 2 * time.Second

// onGap runs when this gateway's Redis subscription broke and was renewed:
// frames published meanwhile may be lost. The socket stays open; after a
// random delay the console gets a fresh hello (snapshot), which it takes as
// it takes the first one: it keeps its state and resumes each conversation
// from the last message it has.
func (s *session) onGap(conn *realtime.Conn) {
	time.AfterFunc(time.Duration(rand.Int64N(int64(gapResyncSpread))), func() { s.start(conn) })
}

func (s *session) setUp(ctx context.Context, conn *realtime.Conn) error {
	if err := conn.Subscribe(ctx, AgentTopic(s.agent.AccountID)); err != nil {
		return fmt.Errorf("subscribe agent topic: %w", err)
	}
	snap, err := s.h.cfg.Backend.Snapshot(ctx, s.agent)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if snap.Agent.AccountID == "" {
		snap.Agent = s.agent
	}
	// The assigned conversations are followed at once, so that even a
	// client that never sends resume hears them live. The console still
	// resumes each, which also covers what was written between the
	// snapshot and these subscriptions.
	for _, c := range snap.Conversations {
		if err := s.follow(ctx, conn, c.ID); err != nil {
			return fmt.Errorf("subscribe conversation %s: %w", c.ID, err)
		}
	}
	if err := s.h.cfg.Backend.Heartbeat(ctx, s.agent); err != nil {
		// Presence catches up with the next heartbeat; the console works.
		s.h.cfg.Logger.Warn("agentui: heartbeat", "agent", s.agent.AccountID, "err", err)
	}
	return sendIfOpen(conn, encode(helloFrame{
		Type:              FrameHello,
		Snapshot:          nonNil(snap),
		ServerTime:        time.Now().UTC(),
		HeartbeatInterval: int(s.h.cfg.HeartbeatInterval / time.Millisecond),
		MaxTextBytes:      s.h.cfg.MaxTextBytes,
		AttachAccept:      conversation.AcceptList(),
	}))
}

// nonNil turns nil lists into empty ones so clients need no null checks.
func nonNil(s desk.Snapshot) desk.Snapshot {
	if s.Offers == nil {
		s.Offers = []desk.Offer{}
	}
	if s.Conversations == nil {
		s.Conversations = []desk.Conversation{}
	}
	return s
}

// onMessage handles one client frame. It returns an error only when the
// connection cannot go on; a bad frame gets an error frame and the
// connection stays, because a console with a bug should show it, not
// loop through reconnects.
func (s *session) onMessage(conn *realtime.Conn, msg []byte) error {
	if !s.allow(time.Now()) {
		return sendIfOpen(conn, rateLimited(msg, s.h.cfg.MaxFrameBytes))
	}
	if len(msg) > s.h.cfg.MaxFrameBytes {
		return conn.Send(encode(errorFrame{FrameError, CodeTooLarge, "frame too large"}))
	}
	var req request
	// Unmarshal, not a Decoder: it refuses anything after the object just
	// the same, without a reader and a buffer per frame.
	if err := json.Unmarshal(msg, &req); err != nil {
		return conn.Send(encode(errorFrame{FrameError, CodeBadFrame, "frame is not a JSON object"}))
	}
	if req.ID == "" || len(req.ID) > maxRequestID {
		return conn.Send(encode(errorFrame{FrameError, CodeBadFrame, "frame needs an id of 1 to 64 bytes"}))
	}
	ctx, cancel := context.WithTimeout(conn.Context(), s.h.cfg.RequestTimeout)
	defer cancel()
	data, err := s.dispatch(ctx, conn, req)
	if err != nil {
		code, text := classify(err)
		if code == CodeInternal {
			s.h.cfg.Logger.Warn("agentui: request failed", "agent", s.agent.AccountID, "type", req.Type, "err", err)
		}
		return sendIfOpen(conn, encode(ackFrame{Type: FrameAck, ID: req.ID, Code: code, Message: text}))
	}
	ack := encode(ackFrame{Type: FrameAck, ID: req.ID, OK: true, Data: data})
	if err := conn.Send(ack); errors.Is(err, realtime.ErrTooLarge) {
		// Answers are bounded (resume pages); one that is not is a bug to
		// see in the log, not a socket closed without a word.
		s.h.cfg.Logger.Error("agentui: answer larger than the send cap", "agent", s.agent.AccountID, "type", req.Type, "bytes", len(ack))
		return sendIfOpen(conn, encode(ackFrame{Type: FrameAck, ID: req.ID, Code: CodeTooLarge, Message: "answer too large"}))
	} else if err != nil && !errors.Is(err, realtime.ErrClosed) {
		return err
	}
	return nil
}

// rateLimited answers a frame over the rate limit: an ack with the code
// when the frame carries a readable id, so the client's request fails at
// once and it can retry later (a console paging a long transcript does),
// else an error frame.
func rateLimited(msg []byte, maxFrame int) []byte {
	var req struct {
		ID string `json:"id"`
	}
	if len(msg) <= maxFrame && json.Unmarshal(msg, &req) == nil && req.ID != "" && len(req.ID) <= maxRequestID {
		return encode(ackFrame{Type: FrameAck, ID: req.ID, Code: CodeRateLimited, Message: "too many frames; slow down"})
	}
	return encode(errorFrame{FrameError, CodeRateLimited, "too many frames; slow down"})
}

// sendIfOpen sends, treating a connection closed meanwhile as done.
func sendIfOpen(conn *realtime.Conn, b []byte) error {
	if err := conn.Send(b); err != nil && !errors.Is(err, realtime.ErrClosed) {
		return err
	}
	return nil
}

// invalidError is a request the handler refuses before the Backend sees it.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }

func invalid(msg string) error { return &invalidError{msg} }

// classify maps an error to the code and text a client sees. Internal
// errors are not shown: they may name Redis keys or addresses.
func classify(err error) (code, text string) {
	var inv *invalidError
	switch {
	case errors.As(err, &inv):
		return CodeInvalid, inv.msg
	case errors.Is(err, errUnknownType):
		return CodeUnknownType, "unknown frame type"
	case errors.Is(err, desk.ErrForbidden):
		return CodeForbidden, "not your conversation"
	case errors.Is(err, desk.ErrNotFound):
		return CodeNotFound, "not found"
	case errors.Is(err, desk.ErrOfferGone):
		return CodeOfferGone, "the offer is no longer open"
	case errors.Is(err, desk.ErrClosed):
		return CodeClosed, "the conversation is closed"
	case errors.Is(err, desk.ErrInvalid):
		// The Backend's own text may name keys or internals: not shown.
		return CodeInvalid, "the server refused this request"
	}
	return CodeInternal, "something went wrong; try again"
}

var errUnknownType = errors.New("unknown frame type")

// needsConv lists the requests about one conversation.
var needsConv = map[string]bool{
	ReqAccept: true, ReqDecline: true, ReqReply: true, ReqNote: true, ReqClose: true,
	ReqTransfer: true, ReqTyping: true, ReqResume: true, ReqLeave: true, ReqCustomer: true,
}

func (s *session) dispatch(ctx context.Context, conn *realtime.Conn, req request) (any, error) {
	b, id := s.h.cfg.Backend, s.agent
	if needsConv[req.Type] && (req.Conv == "" || len(req.Conv) > 128) {
		return nil, invalid("conv is required")
	}
	switch req.Type {
	case ReqHeartbeat:
		return nil, b.Heartbeat(ctx, id)
	case ReqState:
		switch req.State {
		case desk.StateAvailable, desk.StateOffline:
			req.Reason = ""
		case desk.StateAway:
			if len(req.Reason) > 100 {
				return nil, invalid("reason is too long")
			}
		default:
			return nil, invalid("state must be available, away or offline")
		}
		return nil, b.SetState(ctx, id, req.State, req.Reason)
	case ReqAccept:
		if err := b.Accept(ctx, id, req.Conv); err != nil {
			return nil, err
		}
		// Subscribe before the client asks for the transcript, so that a
		// customer message sent right after the accept reaches it.
		return nil, s.follow(ctx, conn, req.Conv)
	case ReqDecline:
		// A console that looked at the offer's transcript stops receiving
		// the conversation once it hands the offer back.
		if err := b.Decline(ctx, id, req.Conv); err != nil {
			return nil, err
		}
		s.unfollow(conn, req.Conv)
		return nil, nil
	case ReqReply, ReqNote:
		text := strings.TrimSpace(req.Text)
		if text == "" {
			return nil, invalid("text is empty")
		}
		if len(req.Text) > s.h.cfg.MaxTextBytes {
			return nil, invalid("text is too long")
		}
		if req.Type == ReqReply {
			return b.Reply(ctx, id, req.Conv, req.Text)
		}
		return b.Note(ctx, id, req.Conv, req.Text)
	case ReqClose:
		if len(req.Disposition) > 64 {
			return nil, invalid("disposition is too long")
		}
		if err := b.Close(ctx, id, req.Conv, req.Disposition); err != nil {
			return nil, err
		}
		s.unfollow(conn, req.Conv)
		return nil, nil
	case ReqTransfer:
		if req.Queue == "" && req.Agent == "" {
			return nil, invalid("queue or agent is required")
		}
		if err := b.Transfer(ctx, id, req.Conv, req.Queue, req.Agent); err != nil {
			return nil, err
		}
		s.unfollow(conn, req.Conv)
		return nil, nil
	case ReqTyping:
		// The conversations this connection may see are those it is
		// subscribed to: the desk takes it off any it loses (Revoke).
		if !conn.Subscribed(ConvTopic(req.Conv)) {
			return nil, desk.ErrForbidden
		}
		return nil, b.Typing(ctx, id, req.Conv, req.On)
	case ReqResume:
		if !utf8.ValidString(req.AfterID) || len(req.AfterID) > 64 {
			return nil, invalid("bad after_id")
		}
		return s.resume(ctx, conn, req.Conv, req.AfterID)
	case ReqLeave:
		s.unfollow(conn, req.Conv)
		return nil, nil
	case ReqSync:
		snap, err := b.Snapshot(ctx, id)
		if err != nil {
			return nil, err
		}
		return nonNil(snap), nil
	case ReqCustomer:
		return b.Customer(ctx, id, req.Conv)
	case ReqDirectory:
		return s.directory(ctx)
	case ReqRecoveryNote:
		rn, ok := b.(RecoveryNoter)
		if !ok {
			return nil, errUnknownType
		}
		text := strings.TrimSpace(req.Text)
		if text == "" || len(text) > s.h.cfg.MaxTextBytes {
			return nil, invalid("text is empty or too long")
		}
		return rn.RecoveryNote(ctx, id, req.Conv, text)
	}
	return nil, errUnknownType
}

// resume answers one page of the transcript after afterID (see
// transcript.go); the client asks again with the page's next while more is
// set. The first read is also the access check. Only the page that reaches
// the end subscribes, then reads once more after its cursor: subscribing
// after the check keeps a refused client from hearing the live feed even
// briefly, and the read after it closes the gap so nothing is missed. The
// client drops the duplicates a live frame and that read may share, by
// message id.
func (s *session) resume(ctx context.Context, conn *realtime.Conn, convID, afterID string) (any, error) {
	b, id := s.h.cfg.Backend, s.agent
	p := newPager(convID, afterID)
	subscribed := false
	for {
		more, err := p.read(ctx, b, id)
		if err != nil {
			if subscribed {
				s.unfollow(conn, convID)
			}
			return nil, err
		}
		switch {
		case p.full:
			return p.page, nil
		case more:
			continue
		case subscribed:
			return p.page, nil
		}
		if err := s.follow(ctx, conn, convID); err != nil {
			return nil, err
		}
		subscribed = true
	}
}

func (s *session) directory(ctx context.Context) (any, error) {
	b := s.h.cfg.Backend
	queues, err := b.Queues(ctx)
	if err != nil {
		return nil, err
	}
	agents, err := b.Agents(ctx)
	if err != nil {
		return nil, err
	}
	canned, err := b.CannedReplies(ctx)
	if err != nil {
		return nil, err
	}
	// One's own name is no transfer target.
	others := make([]desk.AgentSummary, 0, len(agents))
	for _, a := range agents {
		if a.ID != s.agent.AccountID {
			others = append(others, a)
		}
	}
	if queues == nil {
		queues = []string{}
	}
	if canned == nil {
		canned = []desk.Canned{}
	}
	return map[string]any{"queues": queues, "agents": others, "canned": canned}, nil
}

func (s *session) follow(ctx context.Context, conn *realtime.Conn, convID string) error {
	return conn.Subscribe(ctx, ConvTopic(convID))
}

func (s *session) unfollow(conn *realtime.Conn, convID string) {
	conn.Unsubscribe(ConvTopic(convID))
}
