package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/switchboard/switchboard/internal/channel"
)

// A mailbox's submission connections stay open between mails. Opening one
// costs the TCP handshake, the greeting, EHLO, TLS and AUTH: five round
// trips and a TLS handshake before the first byte of mail, for every
// acknowledgement and every reply. Providers also limit how often a client
// may connect. So a connection that delivered a mail is kept for the next
// one, as mail clients and relays do.

// smtpIdle is how long a connection is kept unused. RFC 5321 asks servers
// to wait five minutes before they drop an idle client; many wait less,
// and a connection found dropped costs a second dial, so stay well under.
const smtpIdle = 30 * time.Second

// smtpIdleMax bounds the unused connections kept per mailbox (and never
// more than it may have open: SMTP.MaxConnections).
const smtpIdleMax = 4

// smtpConn is one greeted and, where configured, authenticated connection
// to a mailbox's submission server.
type smtpConn struct {
	conn net.Conn // under any TLS: deadlines are set here
	sc   *smtp.Client
	used time.Time // when it last delivered a mail
}

// smtpPool keeps the unused connections of one mailbox, newest last, and
// bounds those in use (slots).
type smtpPool struct {
	slots  chan struct{}
	mu     sync.Mutex
	idle   []*smtpConn
	closed bool
}

func newSMTPPool(maxConns int) *smtpPool {
	return &smtpPool{slots: make(chan struct{}, max(1, maxConns))}
}

// take returns the newest connection unused for less than smtpIdle, or nil;
// older ones are closed.
func (p *smtpPool) take(now time.Time) *smtpConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		s := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(s.used) < smtpIdle && !now.Before(s.used) {
			return s
		}
		s.close()
	}
	return nil
}

// put keeps s for the next mail, or closes it when the pool is full or
// closed.
func (p *smtpPool) put(s *smtpConn, now time.Time) {
	s.used = now
	p.mu.Lock()
	if !p.closed && len(p.idle) < smtpIdleMax {
		p.idle = append(p.idle, s)
		s = nil
	}
	p.mu.Unlock()
	if s != nil {
		s.quit()
	}
}

// close ends every unused connection; connections in use are closed when
// their mail is done.
func (p *smtpPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, s := range idle {
		s.quit()
	}
}

// quit says goodbye, as a server expects, within a short time.
func (s *smtpConn) quit() {
	_ = s.conn.SetDeadline(time.Now().Add(5 * time.Second))
	_ = s.sc.Quit()
	s.close()
}

func (s *smtpConn) close() { _ = s.sc.Close() }

// errStale marks a kept connection the server had dropped before the
// mail began: nothing was sent on it, so the mail may go on a new one.
var errStale = errors.New("email: kept smtp connection was closed by the server")

// submit hands one mail to the mailbox's SMTP server, on a kept
// connection when there is one.
func (c *Channel) submit(ctx context.Context, mb *Mailbox, rcpts []string, raw []byte) error {
	p := c.smtp[mb.Address]
	if p == nil { // not one of this channel's mailboxes: nothing is kept
		p = newSMTPPool(DefaultMaxConnections)
		p.closed = true
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("email: smtp %s: waiting for a connection: %w: %w", mb.SMTP.Addr(), ctx.Err(), channel.ErrTemporary)
	}
	defer func() { <-p.slots }()
	if s := p.take(c.now()); s != nil {
		err := s.send(ctx, mb.Address, rcpts, raw, true)
		if err == nil {
			p.put(s, c.now())
			return nil
		}
		s.close()
		if !errors.Is(err, errStale) {
			return err
		}
	}
	s, err := c.dialSMTP(ctx, mb)
	if err != nil {
		return err
	}
	if err := s.send(ctx, mb.Address, rcpts, raw, false); err != nil {
		s.close()
		return err
	}
	p.put(s, c.now())
	return nil
}

// dialSMTP opens, secures and authenticates a connection as mb.SMTP says.
func (c *Channel) dialSMTP(ctx context.Context, mb *Mailbox) (*smtpConn, error) {
	cfg := mb.SMTP
	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr())
	if err != nil {
		return nil, fmt.Errorf("email: smtp %s: %w: %w", cfg.Addr(), err, channel.ErrTemporary)
	}
	setDeadline(ctx, conn)
	host, _, _ := net.SplitHostPort(cfg.Addr())
	tc := c.tlsConfig(host, cfg.InsecureSkipVerify)
	var sc *smtp.Client
	switch cfg.TLS {
	case TLSImplicit:
		sc = smtp.NewClient(tls.Client(conn, tc))
	case TLSStartTLS:
		sc, err = smtp.NewClientStartTLS(conn, tc)
	default:
		sc = smtp.NewClient(conn)
	}
	if err != nil {
		_ = conn.Close()
		return nil, smtpError("starttls", err)
	}
	if cfg.User != "" {
		if err := sc.Auth(sasl.NewPlainClient("", cfg.User, cfg.password)); err != nil {
			_ = sc.Close()
			return nil, smtpError("auth", err)
		}
	}
	return &smtpConn{conn: conn, sc: sc}, nil
}

// send delivers one mail on s. On a kept connection (kept), a MAIL command
// that finds the connection dropped or the server closing (421) returns
// errStale: the transaction never began.
func (s *smtpConn) send(ctx context.Context, from string, rcpts []string, raw []byte, kept bool) error {
	setDeadline(ctx, s.conn)
	var opts *smtp.MailOptions
	if !ascii(from) || !ascii(rcpts...) {
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := s.sc.Mail(from, opts); err != nil {
		var se *smtp.SMTPError
		if kept && (!errors.As(err, &se) || se.Code == 421) {
			return fmt.Errorf("%w: %w", errStale, err)
		}
		return smtpError("send", err)
	}
	for _, r := range rcpts {
		if err := s.sc.Rcpt(r, nil); err != nil {
			return smtpError("send", err)
		}
	}
	w, err := s.sc.Data()
	if err != nil {
		return smtpError("send", err)
	}
	if _, err := io.Copy(w, bytes.NewReader(raw)); err != nil {
		return smtpError("send", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("send", err)
	}
	return nil
}

// setDeadline bounds what follows on conn by ctx, or two minutes.
func setDeadline(ctx context.Context, conn net.Conn) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	}
}

func ascii(ss ...string) bool {
	for _, s := range ss {
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				return false
			}
		}
	}
	return true
}
