package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/switchboard/switchboard/internal/imaptest"
)

// Email customers write to a real mailbox: loadgen starts Dovecot, points
// the spawned gateways' email channel at it and delivers each customer's
// mail by IMAP APPEND, as a delivery agent would. The gateways' answers
// (the acknowledgement, the agent's reply) reach an SMTP server loadgen
// runs on loopback. So email needs -spawn: with -target, loadgen owns
// neither the mailbox nor where the answers go.

// mailboxUser is the Dovecot user whose INBOX the gateways read.
const mailboxUser = "support"

// supportAddress is the mailbox's address; customers write to it.
const supportAddress = "support@loadgen.test"

// customerDomain holds every customer's address; the local part names the
// contact (customerAddress).
const customerDomain = "customer.loadgen.test"

// appendClients is how many IMAP connections deliver mail at once. Dovecot
// starts a process per login, so each connection delivers many mails.
const appendClients = 4

// emailRig is the mailbox and the SMTP server of one run.
type emailRig struct {
	imap     *imaptest.Server
	password string
	pwFile   string
	smtpAddr string
	smtp     *smtp.Server
	clients  chan *imapclient.Client
}

// startEmailRig starts Dovecot and the SMTP server; every mail a gateway
// sends is handed to onMail with its recipient and text. The password
// file for the gateways' configuration is written into dir.
func startEmailRig(dir string, smtpDelay time.Duration, onMail func(rcpt, text string)) (*emailRig, error) {
	r := &emailRig{password: fmt.Sprintf("loadgen-imap-%d", time.Now().UnixNano()), pwFile: filepath.Join(dir, "imap-password")}
	if err := os.WriteFile(r.pwFile, []byte(r.password+"\n"), 0o600); err != nil {
		return nil, err
	}
	srv, err := imaptest.Launch(map[string]string{mailboxUser: r.password})
	if err != nil {
		return nil, fmt.Errorf("email needs Dovecot: %w", err)
	}
	r.imap = srv
	r.clients = make(chan *imapclient.Client, appendClients)
	for range appendClients {
		c, err := srv.Dial(mailboxUser)
		if err != nil {
			r.stop()
			return nil, fmt.Errorf("imap login: %w", err)
		}
		r.clients <- c
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		r.stop()
		return nil, err
	}
	r.smtpAddr = l.Addr().String()
	r.smtp = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &answerSession{onMail: onMail, delay: smtpDelay}, nil
	}))
	r.smtp.Domain = "localhost"
	r.smtp.MaxMessageBytes = 1 << 20
	go func() { _ = r.smtp.Serve(l) }()
	return r, nil
}

// yaml is the gateways' email channel section.
func (r *emailRig) yaml() string {
	host, port, _ := net.SplitHostPort(r.smtpAddr)
	return fmt.Sprintf(`  email:
    mailboxes:
      - address: %s
        name: Loadgen Support
        queue: support
        imap: {host: 127.0.0.1, port: %d, tls: plain, user: %s, password_file: %s, poll_interval: 1s}
        smtp: {host: %s, port: %s, tls: plain}
`, supportAddress, r.imap.Port, mailboxUser, r.pwFile, host, port)
}

func (r *emailRig) stop() {
	if r.smtp != nil {
		_ = r.smtp.Close()
	}
	if r.clients != nil {
		for range appendClients {
			select {
			case c := <-r.clients:
				_ = c.Close()
			default:
			}
		}
	}
	if r.imap != nil {
		_ = r.imap.Stop()
	}
}

// deliver appends one mail to the mailbox, unseen, on a free connection.
// A connection that failed may be broken half-way through a command: it is
// closed, and a new one joins the pool when it can.
func (r *emailRig) deliver(ctx context.Context, raw []byte) error {
	var c *imapclient.Client
	select {
	case c = <-r.clients:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := imaptest.Append(c, "INBOX", raw); err != nil {
		_ = c.Close()
		go r.redial()
		return err
	}
	r.clients <- c
	return nil
}

// redial puts a new connection into the pool in place of a failed one.
func (r *emailRig) redial() {
	for range 50 {
		if c, err := r.imap.Dial(mailboxUser); err == nil {
			r.clients <- c
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// customerAddress is contact i's address in run tag.
func customerAddress(tag string, i int) string {
	return fmt.Sprintf("c%d.%s@%s", i, tag, customerDomain)
}

// contactOfAddress is the contact index in a customer's address of run
// tag; -1 for any other address.
func contactOfAddress(tag, addr string) int {
	local, domain, ok := strings.Cut(strings.ToLower(strings.Trim(addr, "<> ")), "@")
	if !ok || domain != customerDomain {
		return -1
	}
	num, rest, ok := strings.Cut(strings.TrimPrefix(local, "c"), ".")
	if !ok || rest != tag {
		return -1
	}
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 {
		return -1
	}
	return i
}

// customerMail is contact i's first mail: its subject and text start with
// the contact's tag, as an SMS body does, so the offer's preview names it.
func customerMail(tag string, i int, at time.Time) []byte {
	text := fmt.Sprintf("lg%s %d where is my parcel", tag, i)
	return []byte("From: Customer " + strconv.Itoa(i) + " <" + customerAddress(tag, i) + ">\r\n" +
		"To: Loadgen Support <" + supportAddress + ">\r\n" +
		"Subject: " + text + "\r\n" +
		"Message-ID: <c" + strconv.Itoa(i) + "." + tag + "@" + customerDomain + ">\r\n" +
		"Date: " + at.UTC().Format(time.RFC1123Z) + "\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		text + "\r\nIt was due on Monday.\r\n")
}

// answerSession takes one mail a gateway sends. Each answer to MAIL, RCPT
// and DATA waits delay, as a provider across a network does.
type answerSession struct {
	onMail func(rcpt, text string)
	delay  time.Duration
	rcpts  []string
}

func (s *answerSession) Reset()        { s.rcpts = nil }
func (s *answerSession) Logout() error { return nil }
func (s *answerSession) Mail(string, *smtp.MailOptions) error {
	time.Sleep(s.delay)
	return nil
}
func (s *answerSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	time.Sleep(s.delay)
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *answerSession) Data(r io.Reader) error {
	time.Sleep(s.delay)
	text, err := plainText(r)
	if err != nil {
		// Accepted anyway: the gateway sent it, and loadgen only reads it.
		text = ""
	}
	for _, rcpt := range s.rcpts {
		s.onMail(rcpt, text)
	}
	return nil
}

// plainText is the text/plain parts of a mail, decoded.
func plainText(r io.Reader) (string, error) {
	mr, err := mail.CreateReader(r)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		h, ok := p.Header.(*mail.InlineHeader)
		if !ok {
			continue
		}
		if ct, _, _ := h.ContentType(); ct != "text/plain" {
			continue
		}
		body, err := io.ReadAll(io.LimitReader(p.Body, 1<<20))
		b.Write(body)
		if err != nil {
			return b.String(), err
		}
	}
}

// email is one customer's mail. Once the mailbox holds it, it is the
// product's to lose, so that is its acknowledgement; the automatic answer
// is timed on its own (emailAnswer).
func (g *gwRun) email(ctx context.Context, c *contact) {
	raw := customerMail(g.tag, c.i, c.sched)
	g.retry(ctx, 3, func(int) bool {
		if g.mail.deliver(ctx, raw) != nil {
			return false
		}
		c.acked.CompareAndSwap(0, int64(time.Since(c.sched)))
		return true
	})
}

// emailAnswer takes a mail a gateway sent to a customer: the agent's reply
// or the automatic acknowledgement.
func (g *gwRun) emailAnswer(rcpt, text string) {
	c := g.contactAt(contactOfAddress(g.tag, rcpt))
	if c == nil {
		return
	}
	if strings.Contains(text, "hello from ") {
		g.replied(c)
		return
	}
	g.acknowledged(c)
}
