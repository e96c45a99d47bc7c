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
	slots  *channel.SendSlots
	mu     sync.Mutex
	idle   []*smtpConn
	closed bool
}

func newSMTPPool(maxConns int) *smtpPool {
	return &smtpPool{slots: channel.NewSendSlots(maxConns, "connections of the mailbox")}
}

// take returns the newest connection unused for less than smtpIdle, or nil.
// Every older one is closed on the way, so none stays open for long.
func (p *smtpPool) take(now time.Time) *smtpConn {
	p.mu.Lock()
	var fresh, old []*smtpConn
	for _, s := range p.idle {
		if now.Sub(s.used) < smtpIdle && !now.Before(s.used) {
			fresh = append(fresh, s)
		} else {
			old = append(old, s)
		}
	}
	var s *smtpConn
	if len(fresh) > 0 {
		s, fresh = fresh[len(fresh)-1], fresh[:len(fresh)-1]
	}
	p.idle = fresh
	p.mu.Unlock()
	for _, o := range old {
		go o.quit()
	}
	return s
}

// put keeps s for the next mail, or says goodbye to it (on a goroutine of
// its own: the caller holds a slot) when the pool is full or closed.
func (p *smtpPool) put(s *smtpConn, now time.Time) {
	s.used = now
	p.mu.Lock()
	if !p.closed && len(p.idle) < smtpIdleMax {
		p.idle = append(p.idle, s)
		s = nil
	}
	p.mu.Unlock()
	if s != nil {
		go s.quit()
	}
}

// close ends every unused connection, all at once and each within
// quitWait; connections in use are closed when their mail is done.
func (p *smtpPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range idle {
		wg.Go(s.quit)
	}
	wg.Wait()
}

// quitWait bounds the goodbye to a server.
const quitWait = 5 * time.Second

// quit says goodbye, as a server expects, within quitWait.
func (s *smtpConn) quit() {
	// go-smtp sets each command's deadline from CommandTimeout itself.
	s.sc.CommandTimeout = quitWait
	_ = s.sc.Quit()
	s.close()
}

func (s *smtpConn) close() { _ = s.sc.Close() }

// errStale marks a kept connection that refused the mail's first command
// (dropped by the server, timed out, or anything else): nothing was sent
// on it, so a new connection is asked and its answer decides.
var errStale = errors.New("email: kept smtp connection refused MAIL")

// slotWait is how long a reply waits for one of its mailbox's
// connections before it is answered busy: the outbox then sends it a
// little later and gives its worker to other replies meanwhile, instead
// of a burst of mail through one mailbox holding every worker.
const slotWait = time.Second

// submit hands one mail to the mailbox's SMTP server, on a kept
// connection when there is one. When all the mailbox's connections are in
// use, a reply (ackFor "") waits slotWait for one and is then answered
// *channel.BusyError. The acknowledgement of conversation ackFor has no
// outbox to come back from, so it waits until ctx ends, behind replies,
// and is not sent (channel.ErrAnswered) when an agent answered meanwhile.
func (c *Channel) submit(ctx context.Context, mb *Mailbox, rcpts []string, raw []byte, ackFor string) error {
	p := c.smtp[mb.Address]
	if p == nil { // not one of this channel's mailboxes: nothing is kept
		p = newSMTPPool(DefaultMaxConnections)
		p.closed = true
	}
	take := func() error { return p.slots.Take(ctx, slotWait) }
	if ackFor != "" {
		take = func() error { return p.slots.TakeForAcknowledgement(ctx, c.core, ackFor) }
	}
	if err := take(); err != nil {
		return fmt.Errorf("email: smtp %s: %w", mb.SMTP.Addr(), err)
	}
	defer p.slots.Put()
	if s := p.take(c.now()); s != nil {
		reusable, err := s.send(ctx, mb.Address, rcpts, raw, true)
		if err == nil {
			s.keepOrClose(p, reusable, c.now())
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
	reusable, err := s.send(ctx, mb.Address, rcpts, raw, false)
	if err != nil {
		s.close()
		return err
	}
	s.keepOrClose(p, reusable, c.now())
	return nil
}

// keepOrClose puts s back into p when it is still good for another mail.
func (s *smtpConn) keepOrClose(p *smtpPool, reusable bool, now time.Time) {
	if reusable {
		p.put(s, now)
	} else {
		s.close()
	}
}

// bound makes ctx govern the exchange that follows on s: go-smtp sets a
// deadline of its own for every command (CommandTimeout, and
// SubmissionTimeout for the mail's final answer), so those are cut to what
// ctx leaves, and a ctx that ends early closes the connection. The
// returned stop reports whether the connection is still open.
func (s *smtpConn) bound(ctx context.Context) (stop func() bool) {
	left := 2 * time.Minute
	if dl, ok := ctx.Deadline(); ok {
		left = max(time.Until(dl), time.Millisecond)
	}
	s.sc.CommandTimeout, s.sc.SubmissionTimeout = left, left
	return context.AfterFunc(ctx, func() { _ = s.conn.Close() })
}

// dialSMTP opens, secures and authenticates a connection as mb.SMTP says.
func (c *Channel) dialSMTP(ctx context.Context, mb *Mailbox) (*smtpConn, error) {
	cfg := mb.SMTP
	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr())
	if err != nil {
		return nil, fmt.Errorf("email: smtp %s: %w: %w", cfg.Addr(), err, channel.ErrTemporary)
	}
	// Until the client exists (the greeting, TLS), ctx's end closes the
	// connection; go-smtp bounds each step by its own timeouts too.
	stopDial := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stopDial()
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
	s := &smtpConn{conn: conn, sc: sc}
	if cfg.User != "" {
		stop := s.bound(ctx)
		err := sc.Auth(sasl.NewPlainClient("", cfg.User, cfg.password))
		if !stop() && err == nil {
			err = ctx.Err()
		}
		if err != nil {
			_ = sc.Close()
			return nil, smtpError("auth", err)
		}
	}
	return s, nil
}

// send delivers one mail on s, within ctx; reusable says whether s may
// carry another (ctx did not close it meanwhile). On a kept connection
// (kept), a MAIL command that fails in any way returns errStale: the
// transaction never began.
func (s *smtpConn) send(ctx context.Context, from string, rcpts []string, raw []byte, kept bool) (reusable bool, err error) {
	stop := s.bound(ctx)
	// A ctx that ended just as the server took the mail leaves it sent but
	// the connection closed: not reusable either way.
	defer func() { reusable = stop() && err == nil }()
	var opts *smtp.MailOptions
	if !ascii(from) || !ascii(rcpts...) {
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := s.sc.Mail(from, opts); err != nil {
		if kept {
			return false, fmt.Errorf("%w: %w", errStale, err)
		}
		return false, smtpError("send", err)
	}
	for _, r := range rcpts {
		if err := s.sc.Rcpt(r, nil); err != nil {
			return false, smtpError("send", err)
		}
	}
	w, err := s.sc.Data()
	if err != nil {
		return false, smtpError("send", err)
	}
	if _, err := io.Copy(w, bytes.NewReader(raw)); err != nil {
		return false, smtpError("send", err)
	}
	if err := w.Close(); err != nil {
		return false, smtpError("send", err)
	}
	return true, nil
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
