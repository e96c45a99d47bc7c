package webchat

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/realtime"
)

// maxBadFrames is how many refused frames one socket may send before it is
// closed: a widget makes none, so a stream of them is a broken or hostile
// client that should not keep a reader busy.
const maxBadFrames = 20

// A socket may send messageBurst messages at once (a widget resending what
// it wrote while offline), then one per messageEvery: far above what a
// person types, far below what would load the conversation service.
const (
	messageBurst = 10
	messageEvery = time.Second
)

// maxResumePages bounds the transcript pages sent on resume; a chat longer
// than this many pages is not a chat a widget can show anyway.
const maxResumePages = 50

// visitorConn is the protocol state of one customer socket. onMessage runs
// on the hub's reader goroutine, one frame at a time; place-in-line updates,
// catch-ups and the hello timer run beside it, hence the mutex.
type visitorConn struct {
	s *Server

	helloTimer *time.Timer

	mu        sync.Mutex
	helloed   bool
	visitor   string
	name      string
	email     string
	to        string // Inbound.To: the widget's queue
	session   string // Inbound.ThreadHint
	convID    string
	convQueue string // routing queue, for the wait estimate
	closed    bool   // the conversation is over
	lastQueue queueFrame
	badFrames int

	refused bool // closing after an error frame: ignore further frames

	allowance float64 // messages that may be sent now, up to messageBurst
	allowedAt time.Time

	lastTyping   bool
	lastTypingAt time.Time
}

func (v *visitorConn) start(c *realtime.Conn) {
	v.mu.Lock()
	v.helloTimer = time.AfterFunc(v.s.cfg.HelloTimeout, func() {
		v.mu.Lock()
		ok := v.helloed
		v.mu.Unlock()
		if !ok {
			c.Close(realtime.CloseUnauthorized, "hello expected")
		}
	})
	v.mu.Unlock()
}

func (v *visitorConn) onClose(*realtime.Conn, int, string) {
	v.mu.Lock()
	if v.helloTimer != nil {
		v.helloTimer.Stop()
	}
	v.mu.Unlock()
	v.s.places.forget(v)
}

// gapCatchUpSpread spreads the catch-ups of many sockets after a Redis
// drop over this long, so they do not all read the transcript at once.
const gapCatchUpSpread = 3 * time.Second

// onGap runs when this gateway's Redis subscription broke and was renewed:
// frames published meanwhile may be lost. The socket stays open; after a
// random delay the widget gets the conversation's messages again (it shows
// each id once) and its current state.
func (v *visitorConn) onGap(c *realtime.Conn) {
	time.AfterFunc(time.Duration(rand.Int64N(int64(gapCatchUpSpread))), func() {
		ctx, cancel := context.WithTimeout(c.Context(), callTimeout)
		defer cancel()
		if err := v.catchUp(ctx, c); err != nil && c.Context().Err() == nil {
			v.s.log.Warn("webchat: catch up after a gap", "err", err)
		}
	})
}

func (v *visitorConn) catchUp(ctx context.Context, c *realtime.Conn) error {
	v.mu.Lock()
	visitor, convID := v.visitor, v.convID
	v.mu.Unlock()
	if visitor == "" || convID == "" {
		return nil
	}
	sess, ok, err := v.s.deps.Visitors.Current(ctx, visitor)
	if err != nil || !ok || sess.ConversationID != convID {
		return err
	}
	if err := v.backlog(ctx, c, convID, ""); err != nil {
		return err
	}
	v.sendState(ctx, c, sess)
	return nil
}

// sendState tells the widget where its conversation stands: closed, with
// an agent, or its place in line.
func (v *visitorConn) sendState(ctx context.Context, c *realtime.Conn, sess Session) {
	switch {
	case sess.State != StateQueued && sess.State != StateOffered && sess.State != StateActive:
		v.send(c, closedFrame{Type: "closed", Conversation: sess.ConversationID, Reason: ClosedEnded})
		v.askAgain(ctx, c, sess.ConversationID)
	case sess.State == StateActive && sess.AgentName != "":
		v.send(c, agentJoinedFrame{Type: "agent_joined", Conversation: sess.ConversationID, Name: sess.AgentName})
	default:
		v.refreshQueue(ctx, c, true)
	}
}

// askAgain shows the survey question of a closed chat again while its
// answer still counts: the widget that was asked may have been reloaded
// since, and a question seen once and lost is a rating never given.
func (v *visitorConn) askAgain(ctx context.Context, c *realtime.Conn, convID string) {
	if v.s.deps.Ratings == nil {
		return
	}
	q, ok, err := v.s.deps.Ratings.OpenQuestion(ctx, convID)
	if err != nil {
		v.s.log.Warn("webchat: open survey question", "conversation", convID, "err", err)
		return
	}
	if ok {
		v.send(c, surveyFrame{Type: "survey", Conversation: convID, Text: q, Scale: 5})
	}
}

func (v *visitorConn) send(c *realtime.Conn, f any) { _ = c.Send(encode(f)) }

// flushWait bounds how long a refused socket is kept open for its error
// frame to reach the client.
const flushWait = time.Second

// refuseAndClose sends an error frame, then closes the socket with code once
// the frame has been written: closing at once would drop the queued frame,
// and the client deserves to know why. Frames read meanwhile are ignored.
func (v *visitorConn) refuseAndClose(c *realtime.Conn, errCode, msg string, code int, reason string) error {
	v.mu.Lock()
	v.refused = true
	v.mu.Unlock()
	v.send(c, errorFrame{Type: "error", Code: errCode, Message: msg})
	go func() {
		deadline := time.Now().Add(flushWait)
		for c.Queued() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		c.Close(code, reason)
	}()
	return nil
}

func (v *visitorConn) fail(c *realtime.Conn, code, msg, frameID string) error {
	v.send(c, errorFrame{Type: "error", Code: code, Message: msg, FrameID: frameID})
	return nil
}

// refuse answers a frame the client should not have sent and counts it.
func (v *visitorConn) refuse(c *realtime.Conn, code, msg, frameID string) error {
	v.mu.Lock()
	v.badFrames++
	n := v.badFrames
	v.mu.Unlock()
	if n >= maxBadFrames {
		return v.refuseAndClose(c, code, msg+"; too many bad frames", realtime.CloseBadMessage, "too many bad frames")
	}
	return v.fail(c, code, msg, frameID)
}

func (v *visitorConn) onMessage(c *realtime.Conn, msg []byte) error {
	v.mu.Lock()
	refused := v.refused
	v.mu.Unlock()
	if refused {
		return nil
	}
	if len(msg) > v.s.maxFrame {
		return v.refuse(c, ErrCodeTooLarge, fmt.Sprintf("frame of %d bytes is over the limit", len(msg)), "")
	}
	f, err := parseClientFrame(msg)
	if err != nil {
		return v.refuse(c, ErrCodeBadFrame, err.Error(), "")
	}
	v.mu.Lock()
	helloed := v.helloed
	v.mu.Unlock()
	if f.Type == frameHello || f.Type == frameResume {
		return v.hello(c, f)
	}
	if !helloed {
		return v.refuse(c, ErrCodeNotReady, "say hello first", f.ID)
	}
	switch f.Type {
	case frameMessage:
		return v.message(c, f)
	case frameTyping:
		v.typing(c, f.Typing)
		return nil
	case frameEnd:
		return v.end(c)
	case frameRate:
		return v.rate(c, f)
	}
	return nil
}

// rate records the visitor's answer to the survey of their current chat.
func (v *visitorConn) rate(c *realtime.Conn, f clientFrame) error {
	if v.s.deps.Ratings == nil || f.Conversation != v.conversation() {
		return v.fail(c, ErrCodeNoChat, "no survey for this chat", "")
	}
	ctx, cancel := context.WithTimeout(c.Context(), callTimeout)
	defer cancel()
	switch err := v.s.deps.Ratings.Rate(ctx, f.Conversation, f.Score, f.Comment); {
	case errors.Is(err, ErrRated):
		// Another tab answered first: thank this one too.
	case errors.Is(err, ErrNoSurvey):
		return v.fail(c, ErrCodeNoChat, "no survey for this chat", "")
	case err != nil:
		v.s.log.Warn("webchat: rate", "conversation", f.Conversation, "err", err)
		return v.fail(c, ErrCodeUnavailable, "could not record the rating; try again", "")
	}
	r := ratedFrame{Type: "rated", Conversation: f.Conversation, Score: f.Score}
	if err := v.s.publish(ctx, convTopic(f.Conversation), r); err != nil {
		v.send(c, r)
	}
	return nil
}

// hello authenticates the visitor (or makes a new one), subscribes the
// socket, and sends the welcome and whatever the widget missed: messages
// after its cursor, then the conversation's state. Subscribing comes before
// reading the transcript so nothing published meanwhile falls between.
func (v *visitorConn) hello(c *realtime.Conn, f clientFrame) error {
	s := v.s
	var visitor string
	minted := false // the id is new, made here: nothing can be stored under it yet
	switch {
	case f.Token != "":
		id, err := s.tokens.Verify(f.Token)
		if errors.Is(err, ErrTokenExpired) {
			return v.refuseAndClose(c, ErrCodeExpired, "visitor token expired", realtime.CloseUnauthorized, "token expired")
		}
		if err != nil {
			return v.refuseAndClose(c, ErrCodeUnauthorized, "invalid visitor token", realtime.CloseUnauthorized, "invalid token")
		}
		visitor = id
	case f.Type == frameResume:
		return v.refuseAndClose(c, ErrCodeUnauthorized, "resume needs a token", realtime.CloseUnauthorized, "no token")
	default:
		visitor, minted = NewVisitorID(), true
	}
	v.mu.Lock()
	if v.helloed && v.visitor != visitor {
		v.mu.Unlock()
		return v.refuseAndClose(c, ErrCodeUnauthorized, "one socket serves one visitor", realtime.CloseForbidden, "visitor changed")
	}
	first := !v.helloed
	v.helloed = true
	v.visitor = visitor
	if n := strings.TrimSpace(f.Name); n != "" && utf8.RuneCountInString(n) <= 100 {
		v.name = n
	}
	if e := strings.TrimSpace(f.Email); e != "" {
		if a, err := mail.ParseAddress(e); err == nil && a.Name == "" {
			v.email = a.Address
		}
	}
	v.to = s.queueFor(f.Queue)
	if f.Session != "" {
		v.session = f.Session
	}
	timer := v.helloTimer
	if first {
		// A stopped timer is still a hundred-odd bytes the socket would
		// hold for the rest of its life; a waiting visitor's socket lives
		// long.
		v.helloTimer = nil
	}
	v.mu.Unlock()
	if first && timer != nil {
		timer.Stop()
	}

	ctx, cancel := context.WithTimeout(c.Context(), callTimeout)
	defer cancel()
	if err := c.Subscribe(ctx, visitorTopic(visitor)); err != nil {
		return v.refuseAndClose(c, ErrCodeUnavailable, "try again shortly", realtime.CloseResync, "subscribe failed")
	}
	// A visitor without a token is new (NewVisitorID is random): looking
	// their conversation up cost every new chat a round trip for nothing.
	var sess Session
	ok := false
	if !minted {
		var err error
		sess, ok, err = s.deps.Visitors.Current(ctx, visitor)
		if err != nil {
			s.log.Warn("webchat: current conversation", "visitor", visitor, "err", err)
			return v.refuseAndClose(c, ErrCodeUnavailable, "try again shortly", realtime.CloseResync, "lookup failed")
		}
	}
	token, err := s.tokens.Sign(visitor)
	if err != nil {
		return err
	}
	welcome := welcomeFrame{Type: "welcome", VisitorToken: token, Visitor: visitor, Site: s.cfg.SiteName,
		MaxLength: s.cfg.MaxMessageLength}
	closed := sess.State != StateQueued && sess.State != StateOffered && sess.State != StateActive
	// A closed conversation is shown only to the widget that was in it
	// (it resumes to learn that it closed); a fresh page starts fresh.
	show := ok && (!closed || f.Conversation == sess.ConversationID)
	if !show {
		v.send(c, welcome)
		return nil
	}
	state := sess.State
	if closed {
		state = StateClosed
	}
	welcome.Conversation = &convSummary{ID: sess.ConversationID, State: state}
	if err := v.join(ctx, c, sess.ConversationID, sess.Queue, closed); err != nil {
		return v.refuseAndClose(c, ErrCodeUnavailable, "try again shortly", realtime.CloseResync, "subscribe failed")
	}
	v.send(c, welcome)
	after := ""
	if f.Conversation == sess.ConversationID {
		after = f.After
	}
	if err := v.backlog(ctx, c, sess.ConversationID, after); err != nil {
		s.log.Warn("webchat: resume", "conversation", sess.ConversationID, "err", err)
		return v.refuseAndClose(c, ErrCodeUnavailable, "try again shortly", realtime.CloseResync, "resume failed")
	}
	v.sendState(ctx, c, sess)
	return nil
}

// queueFor picks Inbound.To from the widget's data-queue.
func (s *Server) queueFor(q string) string {
	if q == "" || !validQueue(q) {
		return s.cfg.DefaultQueue
	}
	if len(s.cfg.Queues) == 0 {
		return q
	}
	for _, allowed := range s.cfg.Queues {
		if allowed == q {
			return q
		}
	}
	return s.cfg.DefaultQueue
}

// join makes convID the socket's conversation: it subscribes its topic,
// leaves the previous one, and, for an open one, registers the socket for
// place-in-line updates.
func (v *visitorConn) join(ctx context.Context, c *realtime.Conn, convID, queue string, closed bool) error {
	v.mu.Lock()
	prev := v.convID
	v.mu.Unlock()
	if prev != convID {
		if err := c.Subscribe(ctx, convTopic(convID)); err != nil {
			return err
		}
		if prev != "" {
			c.Unsubscribe(convTopic(prev))
		}
	}
	v.mu.Lock()
	if prev != convID {
		v.lastQueue = queueFrame{}
	}
	v.convID = convID
	if queue != "" {
		v.convQueue = queue
	} else if v.convQueue == "" || prev != convID {
		v.convQueue = v.to
	}
	v.closed = closed
	queue = v.convQueue
	v.mu.Unlock()
	if closed || v.s.deps.Places == nil {
		v.s.places.forget(v)
	} else {
		v.s.places.watch(v, c, convID, queue)
	}
	return nil
}

// conversation is the socket's current conversation id.
func (v *visitorConn) conversation() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.convID
}

// setQueue records that the conversation moved to queue.
func (v *visitorConn) setQueue(queue string) {
	v.mu.Lock()
	v.convQueue = queue
	v.mu.Unlock()
}

func (v *visitorConn) backlog(ctx context.Context, c *realtime.Conn, convID, after string) error {
	v.mu.Lock()
	visitor := v.visitor
	v.mu.Unlock()
	for range maxResumePages {
		msgs, err := v.s.deps.Visitors.Messages(ctx, convID, after)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil
		}
		for _, m := range msgs {
			v.send(c, v.s.messageFrameOf(convID, m, visitor, true))
		}
		next := msgs[len(msgs)-1].Cursor
		if next == "" || next == after {
			return nil // an implementation without cursors returns one page
		}
		after = next
	}
	return nil
}

// message hands one customer message to the conversation service. The
// frame id, scoped to the visitor, is the provider id: a widget that resends
// after a reconnect gets the stored message back, not a second one. Files
// are upload ids this visitor got for this open conversation.
func (v *visitorConn) message(c *realtime.Conn, f clientFrame) error {
	s := v.s
	text := strings.TrimSpace(f.Text)
	if text == "" && len(f.Files) == 0 {
		return v.refuse(c, ErrCodeBadFrame, "empty message", f.ID)
	}
	atts, err := v.attachments(f.Files)
	if err != nil {
		return v.fail(c, ErrCodeRejected, err.Error(), f.ID)
	}
	if n := utf8.RuneCountInString(f.Text); n > s.cfg.MaxMessageLength {
		v.send(c, errorFrame{Type: "error", Code: ErrCodeTooLarge, FrameID: f.ID, Limit: s.cfg.MaxMessageLength,
			Message: fmt.Sprintf("message of %d characters is over the limit of %d", n, s.cfg.MaxMessageLength)})
		return nil
	}
	v.mu.Lock()
	now := s.now()
	if v.allowedAt.IsZero() {
		v.allowance = messageBurst
	} else {
		v.allowance = min(messageBurst, v.allowance+float64(now.Sub(v.allowedAt))/float64(messageEvery))
	}
	v.allowedAt = now
	limited := v.allowance < 1
	if !limited {
		v.allowance--
	}
	visitor, to, name, session, email := v.visitor, v.to, v.name, v.session, v.email
	v.mu.Unlock()
	if limited {
		return v.fail(c, ErrCodeRateLimited, "too many messages; slow down", f.ID)
	}
	ctx, cancel := context.WithTimeout(c.Context(), callTimeout)
	defer cancel()
	at := s.now()
	rc, err := s.core.Receive(ctx, channel.Inbound{
		Channel:     channel.Chat,
		From:        visitor,
		To:          to,
		Name:        name,
		Text:        text,
		Attachments: atts,
		ProviderID:  providerID(visitor, f.ID),
		ThreadHint:  session,
		ReceivedAt:  at,
	})
	if err != nil {
		if errors.Is(err, conversation.ErrInvalid) {
			return v.fail(c, ErrCodeRejected, "message refused", f.ID)
		}
		s.log.Warn("webchat: receive", "visitor", visitor, "err", err)
		return v.fail(c, ErrCodeUnavailable, "message not sent; it will be retried", f.ID)
	}
	v.mu.Lock()
	isNew := rc.ConversationID != v.convID || v.closed
	v.mu.Unlock()
	if isNew {
		if err := v.join(ctx, c, rc.ConversationID, "", false); err != nil {
			// Stored, but this socket would miss the replies: make the
			// widget reconnect and resume.
			return &realtime.CloseError{Code: realtime.CloseResync, Reason: "subscribe failed"}
		}
	}
	echo := messageFrame{Type: frameMessage, ID: rc.MessageID, Conversation: rc.ConversationID, From: FromCustomer,
		Name: name, Text: text, Files: s.filesOf(rc.ConversationID, atts), FrameID: f.ID, At: at.UnixMilli()}
	// Every tab of this visitor shows the message, and learns the
	// conversation it belongs to.
	if err := s.publish(ctx, visitorTopic(visitor), echo); err != nil {
		s.log.Warn("webchat: echo", "visitor", visitor, "err", err)
	}
	if rc.NewConversation && s.deps.Contacts != nil && (name != "" || email != "") {
		if err := s.deps.Contacts.SetContact(ctx, rc.CustomerID, name, email); err != nil {
			s.log.Warn("webchat: contact details", "conversation", rc.ConversationID, "err", err)
		}
	}
	if isNew {
		v.refreshQueue(ctx, c, true)
	}
	return nil
}

// attachments turns a message frame's upload ids into the Inbound's files.
// Each must have been issued to this visitor for the socket's conversation,
// which must still be open: an id from another visitor, another chat or a
// chat that ended is refused, and the message with it.
func (v *visitorConn) attachments(ids []string) ([]channel.Attachment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	v.mu.Lock()
	visitor, convID, closed := v.visitor, v.convID, v.closed
	v.mu.Unlock()
	if v.s.deps.Files == nil {
		return nil, errors.New("this chat takes no files")
	}
	if convID == "" || closed {
		return nil, errors.New("files can be attached only to an open chat")
	}
	out := make([]channel.Attachment, 0, len(ids))
	for _, id := range ids {
		key, size, ok := v.s.tokens.uploadKey(visitor, convID, id)
		if !ok {
			return nil, errors.New("a file was not uploaded to this chat")
		}
		// Name and type come from the key the store chose (a sanitised
		// name, an allow-listed extension), not from the client; the
		// conversation service checks the file exists and takes its size.
		t, _ := conversation.FileTypeOf(key)
		out = append(out, channel.Attachment{Name: conversation.FileName(key), ContentType: t.ContentType, Size: size, StoredPath: key})
	}
	return out, nil
}

// typing passes the customer's typing state on, on a change or at most
// every 2 s while it stays on, so a chatty widget costs the agent's console
// little.
func (v *visitorConn) typing(c *realtime.Conn, on bool) {
	if v.s.deps.Typing == nil {
		return
	}
	v.mu.Lock()
	convID, closed := v.convID, v.closed
	now := v.s.now()
	skip := convID == "" || closed || (on == v.lastTyping && now.Sub(v.lastTypingAt) < 2*time.Second)
	if !skip {
		v.lastTyping, v.lastTypingAt = on, now
	}
	v.mu.Unlock()
	if skip {
		return
	}
	ctx, cancel := context.WithTimeout(c.Context(), callTimeout)
	defer cancel()
	if err := v.s.deps.Typing.CustomerTyping(ctx, convID, on); err != nil {
		v.s.log.Debug("webchat: customer typing", "conversation", convID, "err", err)
	}
}

// end closes the conversation on the customer's word and tells every tab.
func (v *visitorConn) end(c *realtime.Conn) error {
	v.mu.Lock()
	convID, closed := v.convID, v.closed
	v.mu.Unlock()
	if convID == "" || closed {
		return v.fail(c, ErrCodeNoChat, "no open chat", "")
	}
	ctx, cancel := context.WithTimeout(c.Context(), callTimeout)
	defer cancel()
	if err := v.s.core.CustomerEnded(ctx, convID); err != nil {
		v.s.log.Warn("webchat: end", "conversation", convID, "err", err)
		return v.fail(c, ErrCodeUnavailable, "could not end the chat; try again", "")
	}
	v.mu.Lock()
	if v.convID == convID {
		v.closed = true
	}
	v.mu.Unlock()
	v.s.places.forget(v)
	f := closedFrame{Type: "closed", Conversation: convID, Reason: ClosedByCustomer}
	if err := v.s.publish(ctx, convTopic(convID), f); err != nil {
		v.send(c, f) // at least this tab learns it
	}
	return nil
}

// refreshQueue looks up the place in line and sends it when it changed (or
// always, with force), to this socket only.
func (v *visitorConn) refreshQueue(ctx context.Context, c *realtime.Conn, force bool) {
	v.mu.Lock()
	convID, queue, closed := v.convID, v.convQueue, v.closed
	v.mu.Unlock()
	if convID == "" || closed {
		return
	}
	f, ok, err := v.s.lookupQueue(ctx, convID, queue)
	if err != nil {
		v.s.log.Debug("webchat: queue lookup", "conversation", convID, "err", err)
		return
	}
	if ok {
		v.sendQueue(c, f, force)
	}
}

// sendQueue sends f when it differs from what the socket was last told (or
// always, with force) and still concerns its conversation.
func (v *visitorConn) sendQueue(c *realtime.Conn, f queueFrame, force bool) {
	v.mu.Lock()
	changed := v.convID == f.Conversation && (force || !sameQueue(f, v.lastQueue))
	if changed {
		v.lastQueue = f
	}
	v.mu.Unlock()
	if changed {
		v.send(c, f)
	}
}

func sameQueue(a, b queueFrame) bool {
	if a.Conversation != b.Conversation || a.Position != b.Position || a.NobodyOnline != b.NobodyOnline ||
		(a.Estimate == nil) != (b.Estimate == nil) {
		return false
	}
	return a.Estimate == nil || *a.Estimate == *b.Estimate
}
