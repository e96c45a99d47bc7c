package realtime

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// Transport is the socket a Conn talks through. The hub calls ReadMessage
// from one goroutine and WriteMessage and WritePing from another, never two
// of the same at once; Close may come from any goroutine at any time.
type Transport interface {
	// ReadMessage blocks until the next text message from the client. A
	// frame the transport refuses is reported as a *CloseError.
	ReadMessage() ([]byte, error)
	// WriteMessage writes one text message, giving up at deadline.
	WriteMessage(data []byte, deadline time.Time) error
	// WritePing sends a keep-alive, giving up at deadline.
	WritePing(deadline time.Time) error
	// Close sends a close frame with code and reason (none for
	// CloseAbnormal) and releases the socket, unblocking a pending read or
	// write. It must return within a bounded time and be safe to repeat.
	Close(code int, reason string) error
}

// wsTransport adapts a gorilla websocket connection.
type wsTransport struct {
	ws       *websocket.Conn
	pongWait time.Duration
	// closeWait bounds the attempt to send a close frame: Config.WriteTimeout.
	// A client dropped as too slow (4008) usually has a frame still being
	// written into its full socket; the close frame can only follow that
	// frame, so it gets as long as any write would. One second was not
	// enough: a slow but reading client saw 1006 instead of 4008.
	closeWait time.Duration
}

func newWSTransport(ws *websocket.Conn, cfg Config) *wsTransport {
	t := &wsTransport{ws: ws, pongWait: cfg.PongWait, closeWait: cfg.WriteTimeout}
	ws.SetReadLimit(cfg.ReadLimit)
	_ = ws.SetReadDeadline(time.Now().Add(cfg.PongWait))
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(t.pongWait))
	})
	return t
}

func (t *wsTransport) ReadMessage() ([]byte, error) {
	typ, data, err := t.ws.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		switch {
		case errors.Is(err, websocket.ErrReadLimit):
			return nil, &CloseError{Code: CloseTooBig, Reason: "message too big"}
		case errors.As(err, &ce):
			// The client closed; gorilla has already answered its close frame.
			return nil, &CloseError{Code: ce.Code, Reason: "closed by client"}
		}
		return nil, fmt.Errorf("realtime: read: %w", err)
	}
	// Any frame proves the client alive, not just a pong: a busy client
	// whose pongs queue behind its messages must not time out.
	_ = t.ws.SetReadDeadline(time.Now().Add(t.pongWait))
	if typ != websocket.TextMessage {
		return nil, &CloseError{Code: CloseUnsupportedData, Reason: "binary frames are not supported"}
	}
	// gorilla does not validate UTF-8, and protocols hand text on to
	// browsers and JSON decoders that would each treat it differently.
	if !utf8.Valid(data) {
		return nil, &CloseError{Code: CloseInvalidPayload, Reason: "text frame is not valid UTF-8"}
	}
	return data, nil
}

func (t *wsTransport) WriteMessage(data []byte, deadline time.Time) error {
	if err := t.ws.SetWriteDeadline(deadline); err != nil {
		return fmt.Errorf("realtime: write deadline: %w", err)
	}
	if err := t.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		return fmt.Errorf("realtime: write: %w", err)
	}
	return nil
}

func (t *wsTransport) WritePing(deadline time.Time) error {
	if err := t.ws.WriteControl(websocket.PingMessage, nil, deadline); err != nil {
		return fmt.Errorf("realtime: ping: %w", err)
	}
	return nil
}

func (t *wsTransport) Close(code int, reason string) error {
	if code != CloseAbnormal {
		// Best effort: the close frame tells the client why; a client that
		// cannot take it in time learns it from the dropped socket instead.
		msg := websocket.FormatCloseMessage(code, truncateReason(reason))
		_ = t.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(t.closeWait))
	}
	return t.ws.Close()
}

// truncateReason keeps a close reason within the 123 bytes a control frame
// leaves for it, cutting on a rune boundary.
func truncateReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
