package realtime

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"
)

// Pipe is an in-memory Transport for testing protocols without sockets. The
// hub uses it as the server side; the test plays the client with
// ClientSend, ClientRecv and ClientClose.
//
// Writes block until the client receives them, so a test that stops calling
// ClientRecv makes a slow consumer.
type Pipe struct {
	toServer chan []byte
	toClient chan []byte
	done     chan struct{}

	once   sync.Once
	mu     sync.Mutex
	code   int
	reason string
}

// NewPipe returns an open Pipe.
func NewPipe() *Pipe {
	return &Pipe{
		toServer: make(chan []byte, 16),
		toClient: make(chan []byte),
		done:     make(chan struct{}),
	}
}

// ReadMessage implements Transport.
func (p *Pipe) ReadMessage() ([]byte, error) {
	select {
	case m := <-p.toServer:
		return m, nil
	case <-p.done:
		return nil, ErrClosed
	}
}

// WriteMessage implements Transport.
func (p *Pipe) WriteMessage(data []byte, deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case p.toClient <- data:
		return nil
	case <-p.done:
		return ErrClosed
	case <-timer.C:
		return os.ErrDeadlineExceeded
	}
}

// WritePing implements Transport; a pipe needs no keep-alive.
func (p *Pipe) WritePing(time.Time) error {
	select {
	case <-p.done:
		return ErrClosed
	default:
		return nil
	}
}

// Close implements Transport and records the first code and reason.
func (p *Pipe) Close(code int, reason string) error {
	p.once.Do(func() {
		p.mu.Lock()
		p.code, p.reason = code, reason
		p.mu.Unlock()
		close(p.done)
	})
	return nil
}

// ClientSend delivers msg to the server as if the client had sent it.
func (p *Pipe) ClientSend(msg []byte) error {
	select {
	case p.toServer <- msg:
		return nil
	case <-p.done:
		return ErrClosed
	}
}

// ClientRecv returns the next message the server wrote, or ErrClosed once
// the pipe is closed and nothing is left.
func (p *Pipe) ClientRecv(ctx context.Context) ([]byte, error) {
	select {
	case m := <-p.toClient:
		return m, nil
	case <-p.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ClientClose drops the pipe as a client disconnect would.
func (p *Pipe) ClientClose() { _ = p.Close(CloseAbnormal, "client went away") }

// Done is closed when either side closed the pipe.
func (p *Pipe) Done() <-chan struct{} { return p.done }

// CloseCode reports the code and reason the pipe was closed with, and
// whether it is closed.
func (p *Pipe) CloseCode() (code int, reason string, closed bool) {
	select {
	case <-p.done:
	default:
		return 0, "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code, p.reason, true
}

var _ Transport = (*Pipe)(nil)

// errIsClosed reports errors that only say the connection is gone.
func errIsClosed(err error) bool { return errors.Is(err, ErrClosed) }
