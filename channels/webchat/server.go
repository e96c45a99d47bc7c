package webchat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/httpserver"
	"github.com/switchboard/switchboard/internal/realtime"
)

// Routes the channel serves.
const (
	PathWidget = "/chat/widget.js"
	PathSocket = "/chat/ws"
	PathDemo   = "/demo"
)

// callTimeout bounds each call to the conversation service or routing made
// for one frame, so a stuck Redis does not pin a visitor's reader forever.
const callTimeout = 10 * time.Second

// Server is the web chat channel of one gateway. It serves the widget, the
// demo page and the customer websocket, implements conversation.Sender for
// agent replies, and offers the frame helpers the wiring calls on routing
// events. Any number of gateways may run one; the hub carries frames to the
// gateway that holds the visitor's socket.
type Server struct {
	cfg    Config
	core   channel.Core
	deps   Deps
	tokens *Tokens
	log    *slog.Logger
	now    func() time.Time

	places *places

	widget     []byte
	widgetETag string
	demo       []byte
	maxFrame   int
	refused    refusedOrigins
	// uploads holds a slot per upload being stored (maxUploadsAtOnce).
	uploads chan struct{}
}

// The web chat channel satisfies the channel contract and observes its
// conversations' routing events.
var (
	_ channel.Channel  = (*Server)(nil)
	_ channel.Observer = (*Server)(nil)
)

// New builds the channel on the core. It fails on a missing dependency or
// a token secret shorter than 32 bytes.
func New(cfg Config, core channel.Core, deps Deps) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	switch {
	case core == nil:
		return nil, errors.New("webchat: the core is required")
	case deps.Hub == nil:
		return nil, errors.New("webchat: Deps.Hub is required")
	case deps.Visitors == nil:
		return nil, errors.New("webchat: Deps.Visitors is required")
	}
	tokens, err := NewTokens(cfg.TokenSecret, cfg.TokenMaxAge, cfg.Now)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		core:     core,
		deps:     deps,
		tokens:   tokens,
		log:      cfg.Logger,
		now:      cfg.Now,
		maxFrame: cfg.MaxMessageLength*12 + maxFrameOverhead,
		uploads:  make(chan struct{}, maxUploadsAtOnce),
	}
	s.places = newPlaces(s)
	if err := s.loadAssets(); err != nil {
		return nil, err
	}
	return s, nil
}

// Name is channel.Chat.
func (s *Server) Name() channel.Name { return channel.Chat }

// Addresses are the queues a widget may name (data-queue), each its own
// queue, and the default queue.
func (s *Server) Addresses() []channel.Address {
	out := []channel.Address{{Value: s.cfg.DefaultQueue, Queue: s.cfg.DefaultQueue}}
	for _, q := range s.cfg.Queues {
		if q != s.cfg.DefaultQueue {
			out = append(out, channel.Address{Value: q, Queue: q})
		}
	}
	return out
}

// Run follows the queues' moves (Deps.Places) to tell this gateway's
// waiting visitors their places, until ctx ends. Visitors' sockets live in
// the hub.
func (s *Server) Run(ctx context.Context) error {
	defer s.places.wait()
	if s.deps.Places == nil {
		<-ctx.Done()
		return nil
	}
	return s.deps.Places.FollowQueues(ctx, s.places.changed)
}

// Observe shows the visitor what happens to their chat: an agent joined,
// the place in line moved, the agent is typing, the chat ended.
func (s *Server) Observe(ctx context.Context, ev channel.Event) error {
	switch ev.Type {
	case channel.EventAccepted:
		return s.AgentJoined(ctx, ev.ConversationID, ev.AgentName)
	case channel.EventEnqueued, channel.EventTransferred:
		return s.QueueChanged(ctx, ev.ConversationID, ev.Queue)
	case channel.EventOfferLapsed:
		// Declined or expired: without a word the visitor would watch
		// nothing happen while routing waits to offer it again.
		return s.OfferReturned(ctx, ev.ConversationID, ev.Queue)
	case channel.EventAgentTyping:
		return s.AgentTyping(ctx, ev.ConversationID, ev.AgentName, ev.Typing)
	case channel.EventAbandoned:
		return s.Closed(ctx, ev.ConversationID, ClosedAbandoned)
	case channel.EventClosed:
		if ev.Reason == "customer_ended" {
			return s.Closed(ctx, ev.ConversationID, ClosedByCustomer)
		}
		return s.Closed(ctx, ev.ConversationID, ClosedByAgent)
	}
	return nil
}

// Register adds the channel's routes: GET /chat/widget.js, GET /chat/ws,
// GET /chat/availability, GET /demo, and /chat/files (POST an upload, GET
// a file by its signed link). An upload's body limit is the attachment
// limit plus the form's framing, in place of the server's default.
func (s *Server) Register(e channel.Routes) {
	if s.deps.Files != nil {
		limit := httpserver.BodyLimit(s.deps.Files.MaxAttachmentBytes() + uploadSlack)
		e.Add(http.MethodPost, PathFiles, echo.WrapHandler(http.HandlerFunc(s.serveUpload)), limit)
		e.Add(http.MethodOptions, PathFiles, echo.WrapHandler(http.HandlerFunc(s.serveUploadOptions)))
		e.Add(http.MethodGet, PathFiles, echo.WrapHandler(http.HandlerFunc(s.serveFile)))
	}
	e.Add(http.MethodGet, PathWidget, echo.WrapHandler(http.HandlerFunc(s.serveWidget)))
	e.Add(http.MethodGet, PathSocket, echo.WrapHandler(http.HandlerFunc(s.serveSocket)))
	e.Add(http.MethodGet, PathDemo, echo.WrapHandler(http.HandlerFunc(s.serveDemo)))
	e.Add(http.MethodGet, PathAvailability, echo.WrapHandler(http.HandlerFunc(s.serveAvailability)))
}

// Handler returns the channel's routes as a plain http.Handler, for tests
// and for wiring without echo.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathWidget, s.serveWidget)
	mux.HandleFunc("GET "+PathSocket, s.serveSocket)
	mux.HandleFunc("GET "+PathDemo, s.serveDemo)
	mux.HandleFunc("GET "+PathAvailability, s.serveAvailability)
	if s.deps.Files != nil {
		mux.HandleFunc("POST "+PathFiles, s.serveUpload)
		mux.HandleFunc("OPTIONS "+PathFiles, s.serveUploadOptions)
		mux.HandleFunc("GET "+PathFiles, s.serveFile)
	}
	return mux
}

// serveSocket checks the Origin and hands the socket to the hub. The
// visitor authenticates in its first frame, not in the URL: the token would
// otherwise end up in access logs.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	origin, ok := s.originAllowed(r)
	if !ok {
		s.logRefused(r)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	// A burst of visitors is turned away before it costs a socket, so the
	// conversations already open keep their gateway.
	if err := s.deps.Hub.Admit(); err != nil {
		s.log.Debug("webchat: visitor refused", "err", err)
		realtime.RefuseBusy(w)
		return
	}
	v := &visitorConn{s: s}
	opts := realtime.UpgradeOptions{
		ConnOptions: realtime.ConnOptions{
			OnMessage: v.onMessage,
			OnClose:   v.onClose,
			OnGap:     v.onGap,
			Label:     "chat",
			// A burst of visitors shares the hub's handlers; agents'
			// consoles go on meanwhile.
			Crowd: true,
		},
	}
	if origin != "" {
		// Already checked against our rules above; tell the hub the same.
		opts.AllowedOrigins = []string{origin}
	}
	c, err := s.deps.Hub.Upgrade(w, r, opts)
	if err != nil {
		s.log.Debug("webchat: upgrade failed", "err", err)
		return
	}
	v.start(c)
}

// originAllowed applies Config.AllowedOrigins and returns the normalized
// origin to pass to the hub ("" when the request has none or it is our own).
func (s *Server) originAllowed(r *http.Request) (string, bool) {
	o := r.Header.Get("Origin")
	if o == "" {
		// Not a browser page: cross-site hijacking needs a browser.
		return "", true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return "", false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return "", true
	}
	norm := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, a := range s.cfg.AllowedOrigins {
		if a == "*" || a == norm {
			return norm, true
		}
	}
	return "", false
}

func visitorTopic(visitorID string) string { return "visitor:" + visitorID }
func convTopic(convID string) string       { return "chatconv:" + convID }

// publish sends one frame to a topic on every gateway.
func (s *Server) publish(ctx context.Context, topic string, v any) error {
	if err := s.deps.Hub.Publish(ctx, topic, encode(v)); err != nil {
		return fmt.Errorf("webchat: publish to %s: %w", topic, err)
	}
	return nil
}

// Send delivers an agent's reply to the visitor's open widgets on any
// gateway. The reply is already in the transcript, so a visitor who is
// offline gets it when the widget resumes; Send therefore succeeds without
// anyone listening. A failed cross-gateway publish is temporary: the outbox
// retries and the widget shows each message id once.
func (s *Server) Send(ctx context.Context, out channel.Outbound) (channel.SendResult, error) {
	if out.Channel != "" && out.Channel != channel.Chat {
		return channel.SendResult{}, &channel.PermanentError{Code: "wrong_channel", Message: "webchat sends only chat replies"}
	}
	if out.ConversationID == "" || out.MessageID == "" {
		return channel.SendResult{}, &channel.PermanentError{Code: "incomplete", Message: "conversation and message id are required"}
	}
	f := messageFrame{Type: frameMessage, ID: out.MessageID, Conversation: out.ConversationID, From: FromAgent,
		Text: out.Text, Files: s.filesOf(out.ConversationID, out.Attachments), At: s.now().UnixMilli()}
	if err := s.publish(ctx, convTopic(out.ConversationID), f); err != nil {
		if errors.Is(err, realtime.ErrBadTopic) {
			// No retry can make this id a topic.
			return channel.SendResult{}, &channel.PermanentError{Code: "bad_conversation_id", Message: err.Error()}
		}
		return channel.SendResult{}, fmt.Errorf("%w: %w", channel.ErrTemporary, err)
	}
	return channel.SendResult{ProviderID: out.MessageID, Status: "sent"}, nil
}

// AskRating shows the survey question with five buttons and a comment
// field in the widgets of the conversation (survey.ChatAsker). A visitor
// who is not on the page misses it; the survey counts it sent.
func (s *Server) AskRating(ctx context.Context, convID, text string) error {
	if err := s.publish(ctx, convTopic(convID), surveyFrame{Type: "survey", Conversation: convID, Text: text, Scale: 5}); err != nil {
		return fmt.Errorf("%w: %w", channel.ErrTemporary, err)
	}
	return nil
}

// AgentJoined tells the conversation's visitor that agentName accepted it
// ("Ana has joined").
func (s *Server) AgentJoined(ctx context.Context, convID, agentName string) error {
	return s.publish(ctx, convTopic(convID), agentJoinedFrame{Type: "agent_joined", Conversation: convID, Name: agentName})
}

// AgentTyping shows or hides "Ana is typing…" in the visitor's widget.
func (s *Server) AgentTyping(ctx context.Context, convID, agentName string, typing bool) error {
	return s.publish(ctx, convTopic(convID), typingFrame{Type: frameTyping, Conversation: convID, Name: agentName, Typing: typing})
}

// Closed tells the visitor the chat is over; reason is ClosedByAgent,
// ClosedByCustomer or ClosedAbandoned.
func (s *Server) Closed(ctx context.Context, convID, reason string) error {
	return s.publish(ctx, convTopic(convID), closedFrame{Type: "closed", Conversation: convID, Reason: reason})
}

// QueuePosition tells a waiting visitor their place in line and the wait
// estimate range; estimateOK false says there is no honest estimate.
func (s *Server) QueuePosition(ctx context.Context, convID string, pos int, low, high time.Duration, estimateOK bool) error {
	return s.publish(ctx, convTopic(convID), queueFrameOf(convID, pos, low, high, estimateOK))
}

// QueueChanged tells the visitors waiting in queue that it moved.
// convID, when not empty, is the conversation that moved (it may have
// changed queue). With Deps.Places, which follows every queue's moves on
// every gateway, it only folds into this gateway's next computation of the
// queue's places and reads nothing. Without it, convID's place is looked up
// and published to its visitor.
func (s *Server) QueueChanged(ctx context.Context, convID, queue string) error {
	if s.deps.Places != nil {
		if queue != "" {
			s.places.changed(convID, queue)
		}
		return nil
	}
	if convID == "" {
		return nil
	}
	f, ok, err := s.lookupQueue(ctx, convID, queue)
	if err != nil || !ok {
		return err
	}
	return s.publish(ctx, convTopic(convID), f)
}

// OfferReturned tells a waiting visitor that the agent offered their chat
// did not take it (declined, or let the offer lapse): without a word the
// customer would watch nothing happen while routing waits to offer it
// again. They keep their place, and hear whether anyone else is online.
func (s *Server) OfferReturned(ctx context.Context, convID, queue string) error {
	f, ok, err := s.lookupQueue(ctx, convID, queue)
	if err != nil {
		return err
	}
	if !ok {
		// Already offered to someone else, or closed: nothing to explain.
		return nil
	}
	f.Returned = true
	return s.publish(ctx, convTopic(convID), f)
}

func (s *Server) lookupQueue(ctx context.Context, convID, queue string) (queueFrame, bool, error) {
	p, err := s.core.Place(ctx, convID)
	if errors.Is(err, channel.ErrNotFound) {
		return queueFrame{}, false, nil
	}
	if err != nil {
		return queueFrame{}, false, fmt.Errorf("webchat: queue position of %s: %w", convID, err)
	}
	if p.Position == 0 {
		return queueFrame{}, false, nil
	}
	f := queueFrameOf(convID, p.Position, p.Low, p.High, p.Known)
	if s.deps.Availability != nil {
		if st, err := s.deps.Availability.Availability(ctx, queue); err == nil {
			f.NobodyOnline = !st.Open || st.AgentsOnline == 0
		}
	}
	return f, true, nil
}
