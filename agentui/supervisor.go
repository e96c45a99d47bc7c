package agentui

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/realtime"
)

//go:embed supervisor
var supervisorFiles embed.FS

// SupervisorBackend is what the supervisor view needs besides the console's
// Backend (which already lets supervisors read any transcript and add
// notes). who is the authenticated supervisor or admin; the desk checks
// the role again.
type SupervisorBackend interface {
	// Board returns the figures the page shows (the wiring passes
	// stats.Board), encoded as JSON as is.
	Board(ctx context.Context) (any, error)
	// Assign offers a waiting or offered conversation to a named agent,
	// taking it back from whoever holds the offer.
	Assign(ctx context.Context, who desk.Actor, convID, agentID string) error
	// SetAgentState sets an agent away or offline (or available).
	SetAgentState(ctx context.Context, who desk.Actor, agentID, state, reason string) error
}

// Supervisor frame types (server → client) besides ack and error.
const (
	FrameBoard = "board"
	FrameAlert = "alert"
)

// TopicSupervisors is the realtime topic every supervisor connection
// follows on every gateway: alerts raised once for the whole workspace
// (service recovery) are published there.
const TopicSupervisors = "supervisors"

// Supervisor client frame types.
const (
	ReqAssign     = "assign"
	ReqAgentState = "agent_state"
	ReqWatch      = "watch"
	ReqUnwatch    = "unwatch"
)

// SupervisorConfig builds a Supervisor; zero fields as in Config.
type SupervisorConfig struct {
	// Backend is the supervisor's core; required.
	Backend SupervisorBackend
	// Console is the console's handler, whose Backend, Hub, Authenticate,
	// AllowedOrigins, limits and Logger the supervisor view shares; required.
	Console *Handler
	// Changes signals that the figures changed, so Run pushes a fresh
	// board. Nil: boards are pushed every maxPush only.
	Changes <-chan struct{}
}

// Supervisor serves /supervisor/: the page, its websocket, and the pushes
// of each new board to this gateway's supervisor connections. Every gateway
// folds the same events, so each pushes to its own connections only and
// nothing is published across gateways per board.
type Supervisor struct {
	cfg     SupervisorConfig
	c       Config
	site    site
	mu      sync.Mutex
	conns   map[*realtime.Conn]*supSession
	lastMsg []byte // the last board frame pushed
	seq     uint64 // counts pushes, so a newcomer can tell it missed one
}

// NewSupervisor checks cfg and builds the supervisor view.
func NewSupervisor(cfg SupervisorConfig) (*Supervisor, error) {
	if cfg.Backend == nil || cfg.Console == nil {
		return nil, errors.New("agentui: SupervisorConfig.Backend and Console are required")
	}
	pages, err := newSite(supervisorFiles, "supervisor")
	if err != nil {
		return nil, err
	}
	return &Supervisor{cfg: cfg, c: cfg.Console.cfg, site: pages,
		conns: map[*realtime.Conn]*supSession{}}, nil
}

// Register adds GET /supervisor (redirect), /supervisor/ and its assets,
// and GET /supervisor/ws. The page reuses the console's stylesheet and
// modules under /agent/.
func (s *Supervisor) Register(e *echo.Echo) {
	e.GET("/supervisor", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, "/supervisor/")
	})
	e.GET("/supervisor/ws", s.serveWS)
	s.site.register(e, "/supervisor/")
}

// Board pushes are spaced at least minPush apart (a burst of events makes
// one board, not hundreds) and sent at least every maxPush, so the
// 15-minute window and the chart move on a quiet day too.
const (
	minPush = 250 * time.Millisecond
	maxPush = 15 * time.Second
)

// Run pushes a fresh board to this gateway's supervisors whenever the
// figures change, until ctx ends. Boards are built only while someone
// watches.
func (s *Supervisor) Run(ctx context.Context) error {
	idle := time.NewTicker(maxPush)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.cfg.Changes:
		case <-idle.C:
		}
		if s.Watching() {
			bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			b, err := s.cfg.Backend.Board(bctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					s.c.Logger.Warn("supervisor board", "err", err)
				}
			} else {
				s.PushBoard(b)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(minPush):
		}
	}
}

// Watching reports whether any supervisor is connected to this gateway, so
// boards are built only for someone.
func (s *Supervisor) Watching() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns) > 0
}

// PushBoard sends a board to every local supervisor connection.
func (s *Supervisor) PushBoard(board any) {
	msg := encode(map[string]any{"type": FrameBoard, "server_time": time.Now().UTC(), "board": board})
	s.mu.Lock()
	s.lastMsg = msg
	s.seq++
	conns := make([]*realtime.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		// A slow client is dropped by the hub (4008) and resumes with a
		// fresh board; nothing to do here.
		_ = sendIfOpen(c, msg)
	}
}

// PushAlert tells every local supervisor connection that an alert was
// raised or cleared, so the page can flash it; the board carries the list.
func (s *Supervisor) PushAlert(alert any, raised bool) {
	msg := encode(map[string]any{"type": FrameAlert, "alert": alert, "raised": raised})
	s.mu.Lock()
	conns := make([]*realtime.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = sendIfOpen(c, msg)
	}
}

// supSession is one supervisor connection.
type supSession struct {
	s    *Supervisor
	who  desk.Actor
	mu   sync.Mutex
	conv string // the conversation being read live, if any
	rate *session
}

func (s *Supervisor) serveWS(c echo.Context) error {
	p, err := authenticate(c, s.c)
	if err != nil {
		return err
	}
	if p.Role != "supervisor" && p.Role != "admin" {
		return echo.NewHTTPError(http.StatusForbidden, "supervisors and admins only")
	}
	ss := &supSession{s: s, who: p, rate: newSession(s.cfg.Console, p)}
	conn, err := s.c.Hub.Upgrade(c.Response(), c.Request(), realtime.UpgradeOptions{
		ConnOptions: realtime.ConnOptions{
			OnMessage: ss.onMessage,
			OnClose: func(conn *realtime.Conn, _ int, _ string) {
				s.mu.Lock()
				delete(s.conns, conn)
				s.mu.Unlock()
			},
			// A lost Redis feed only matters for the conversation being
			// read; boards are pushed locally. Supervisors are few: their
			// pages reconnect and resume.
			OnGap: func(conn *realtime.Conn) { conn.Close(realtime.CloseResync, "missed messages: reconnect and resume") },
			Label: "supervisor:" + p.AccountID,
		},
		AllowedOrigins: s.c.AllowedOrigins,
	})
	if err != nil {
		s.c.Logger.Debug("agentui: supervisor upgrade refused", "account", p.AccountID, "err", err)
		return nil
	}
	ctx, cancel := context.WithTimeout(conn.Context(), s.c.RequestTimeout)
	defer cancel()
	if err := conn.Subscribe(ctx, TopicSupervisors); err != nil {
		s.c.Logger.Warn("agentui: supervisor alerts subscription", "err", err)
	}
	s.mu.Lock()
	seq := s.seq
	s.mu.Unlock()
	board, err := s.cfg.Backend.Board(ctx)
	if err != nil {
		if conn.Context().Err() == nil {
			s.c.Logger.Warn("agentui: supervisor board", "err", err)
			conn.Close(realtime.CloseInternalError, "setup failed: reconnect")
		}
		return nil
	}
	hello := encode(map[string]any{"type": FrameHello, "me": p, "server_time": time.Now().UTC(),
		"max_text_bytes": s.c.MaxTextBytes, "board": board})
	// Joining the push list and greeting under one lock: every later push
	// reaches this connection after its hello, and a push that went out
	// while the hello's board was being built is sent right after it.
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[conn] = ss
	_ = sendIfOpen(conn, hello)
	if s.seq != seq {
		_ = sendIfOpen(conn, s.lastMsg)
	}
	return nil
}

// supRequest is one supervisor client frame.
type supRequest struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Conv   string `json:"conv"`
	Agent  string `json:"agent"`
	State  string `json:"state"`
	Reason string `json:"reason"`
	Text   string `json:"text"`
	// AfterID is the cursor of a watch's next page.
	AfterID string `json:"after_id"`
}

func (ss *supSession) onMessage(conn *realtime.Conn, msg []byte) error {
	c := ss.s.c
	if !ss.rate.allow(time.Now()) {
		return sendIfOpen(conn, rateLimited(msg, c.MaxFrameBytes))
	}
	if len(msg) > c.MaxFrameBytes {
		return conn.Send(encode(errorFrame{FrameError, CodeTooLarge, "frame too large"}))
	}
	var req supRequest
	if err := json.Unmarshal(msg, &req); err != nil { // refuses data after the object too
		return conn.Send(encode(errorFrame{FrameError, CodeBadFrame, "frame is not a JSON object"}))
	}
	if req.ID == "" || len(req.ID) > maxRequestID {
		return conn.Send(encode(errorFrame{FrameError, CodeBadFrame, "frame needs an id of 1 to 64 bytes"}))
	}
	ctx, cancel := context.WithTimeout(conn.Context(), c.RequestTimeout)
	defer cancel()
	data, err := ss.dispatch(ctx, conn, req)
	if err != nil {
		code, text := classify(err)
		if code == CodeInternal {
			c.Logger.Warn("agentui: supervisor request failed", "account", ss.who.AccountID, "type", req.Type, "err", err)
		}
		return sendIfOpen(conn, encode(ackFrame{Type: FrameAck, ID: req.ID, Code: code, Message: text}))
	}
	return sendIfOpen(conn, encode(ackFrame{Type: FrameAck, ID: req.ID, OK: true, Data: data}))
}

func (ss *supSession) dispatch(ctx context.Context, conn *realtime.Conn, req supRequest) (any, error) {
	c := ss.s.c
	who := ss.who
	switch req.Type {
	case ReqSync:
		return ss.s.cfg.Backend.Board(ctx)
	case ReqAssign:
		if req.Conv == "" || req.Agent == "" {
			return nil, invalid("assign needs conv and agent")
		}
		return nil, ss.s.cfg.Backend.Assign(ctx, who, req.Conv, req.Agent)
	case ReqAgentState:
		switch req.State {
		case desk.StateAvailable, desk.StateAway, desk.StateOffline:
		default:
			return nil, invalid("state must be available, away or offline")
		}
		if req.Agent == "" || len(req.Reason) > 100 {
			return nil, invalid("agent_state needs an agent and a reason of at most 100 bytes")
		}
		return nil, ss.s.cfg.Backend.SetAgentState(ctx, who, req.Agent, req.State, req.Reason)
	case ReqWatch:
		if req.Conv == "" {
			return nil, invalid("watch needs conv")
		}
		// Subscribe first, then read: a message written in between comes
		// twice rather than never; the page drops duplicates by id.
		ss.mu.Lock()
		prev := ss.conv
		ss.conv = req.Conv
		ss.mu.Unlock()
		if prev != "" && prev != req.Conv {
			conn.Unsubscribe(ConvTopic(prev))
		}
		if err := conn.Subscribe(ctx, ConvTopic(req.Conv)); err != nil {
			return nil, fmt.Errorf("subscribe: %w", err)
		}
		// One page (transcript.go); the page asks again with next while
		// more is set.
		if !utf8.ValidString(req.AfterID) || len(req.AfterID) > 64 {
			return nil, invalid("bad after_id")
		}
		p := newPager(req.Conv, req.AfterID)
		for {
			more, err := p.read(ctx, c.Backend, who)
			if err != nil {
				conn.Unsubscribe(ConvTopic(req.Conv))
				return nil, err
			}
			if p.full || !more {
				return p.page, nil
			}
		}
	case ReqUnwatch:
		ss.mu.Lock()
		if ss.conv != "" {
			conn.Unsubscribe(ConvTopic(ss.conv))
			ss.conv = ""
		}
		ss.mu.Unlock()
		return nil, nil
	case ReqNote:
		text := strings.TrimSpace(req.Text)
		if req.Conv == "" || text == "" || !utf8.ValidString(text) {
			return nil, invalid("note needs conv and text")
		}
		if len(text) > c.MaxTextBytes {
			return nil, invalid(fmt.Sprintf("text over %d bytes", c.MaxTextBytes))
		}
		return c.Backend.Note(ctx, who, req.Conv, text)
	}
	return nil, errUnknownType
}
