package email

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// fetchBatch is how many mails one FETCH asks for; each is stored, flagged
// and checkpointed before the next.
const fetchBatch = 50

// maxAttempts is how often a mail the core refuses is tried before it is
// stored as unreadable.
const maxAttempts = 3

// readMailbox holds the mailbox's lease and reads it until ctx ends. While
// another gateway holds the lease it waits on standby, trying every third
// of the lease TTL, so a dead reader is replaced within about one TTL.
func (c *Channel) readMailbox(ctx context.Context, mb *Mailbox) {
	l := newLease(c.rdb, c.k.lease(mb.key()), c.cfg.LeaseTTL)
	log := c.log.With("mailbox", mb.Address)
	wait := c.reconnect
	for ctx.Err() == nil {
		ok, err := l.acquire(ctx)
		if err != nil || !ok {
			if err != nil {
				log.WarnContext(ctx, "email: lease", "err", err)
			}
			c.setStatus(mb, "standby: another gateway holds the lease")
			sleep(ctx, c.cfg.LeaseTTL/3)
			continue
		}
		sctx, cancel := context.WithCancel(ctx)
		lost := make(chan struct{})
		go c.keepLease(sctx, l, cancel, lost)
		c.setStatus(mb, "connecting")
		started := c.now()
		err = c.session(sctx, mb, l)
		cancel()
		select {
		case <-lost:
			log.WarnContext(ctx, "email: lease lost; another gateway reads the mailbox now")
			continue
		default:
		}
		if ctx.Err() != nil {
			break
		}
		// The connection failed: back off, doubling, and start afresh. A
		// session that ran a while resets the backoff.
		if c.now().Sub(started) > time.Minute {
			wait = c.reconnect
		}
		log.WarnContext(ctx, "email: imap session ended; reconnecting", "err", err, "in", wait)
		c.setStatus(mb, "reconnecting: "+errString(err))
		// Keep the lease while waiting: the mailbox is ours to retry.
		kctx, kcancel := context.WithCancel(ctx)
		go c.keepLease(kctx, l, kcancel, make(chan struct{}))
		sleep(kctx, wait)
		kcancel()
		wait = min(wait*2, c.maxReconnect)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	l.release(rctx)
	cancel()
	c.setStatus(mb, "stopped")
}

// keepLease renews the lease every third of its TTL; when it is lost it
// closes lost and cancels the session.
func (c *Channel) keepLease(ctx context.Context, l *lease, cancel context.CancelFunc, lost chan struct{}) {
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ok, err := l.renew(ctx)
			if err != nil {
				// Redis unreachable: nothing can be stored or checkpointed
				// either (both need Redis and the checkpoint checks the
				// lease), so reading on does no harm; keep trying.
				c.log.WarnContext(ctx, "email: renew lease", "err", err)
				continue
			}
			if !ok {
				close(lost)
				cancel()
				return
			}
		}
	}
}

// session is one IMAP connection: log in, select the folder, catch up, then
// IDLE (or poll) and catch up on each notice until ctx ends or the
// connection fails.
func (c *Channel) session(ctx context.Context, mb *Mailbox, l *lease) error {
	notify := make(chan struct{}, 1)
	opts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case notify <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	cl, err := c.dial(ctx, mb, opts)
	if err != nil {
		return err
	}
	defer cl.Close()
	// Closing the connection is how a blocked command learns ctx ended.
	stop := context.AfterFunc(ctx, func() { _ = cl.Close() })
	defer stop()
	if err := cl.Login(mb.IMAP.User, mb.IMAP.password).Wait(); err != nil {
		return fmt.Errorf("email: login %s: %w", mb.IMAP.Addr(), err) // go-imap's error carries no password
	}
	sel, err := cl.Select(mb.IMAP.Folder, nil).Wait()
	if err != nil {
		return fmt.Errorf("email: select %s: %w", mb.IMAP.Folder, err)
	}
	r := reader{c: c, mb: mb, cl: cl, l: l, uidValidity: sel.UIDValidity, uidNext: sel.UIDNext}
	if err := r.start(ctx); err != nil {
		return err
	}
	idle := cl.Caps().Has(imap.CapIdle) || cl.Caps().Has(imap.CapIMAP4rev2)
	for {
		c.setStatus(mb, "reading")
		if err := r.catchUp(ctx); err != nil {
			return err
		}
		if idle {
			c.setStatus(mb, "idle")
			if err := r.idle(ctx, notify); err != nil {
				return err
			}
		} else {
			c.setStatus(mb, "polling")
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(mb.IMAP.PollInterval):
			}
			if err := cl.Noop().Wait(); err != nil {
				return fmt.Errorf("email: noop: %w", err)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func (c *Channel) dial(ctx context.Context, mb *Mailbox, opts *imapclient.Options) (*imapclient.Client, error) {
	d := net.Dialer{Timeout: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", mb.IMAP.Addr())
	if err != nil {
		return nil, fmt.Errorf("email: imap %s: %w", mb.IMAP.Addr(), err)
	}
	host, _, _ := net.SplitHostPort(mb.IMAP.Addr())
	tc := c.tlsConfig(host, mb.IMAP.InsecureSkipVerify)
	opts.TLSConfig = tc
	switch mb.IMAP.TLS {
	case TLSImplicit:
		return imapclient.New(tls.Client(conn, tc), opts), nil
	case TLSStartTLS:
		cl, err := imapclient.NewStartTLS(conn, opts)
		if err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("email: imap starttls %s: %w", mb.IMAP.Addr(), err)
		}
		return cl, nil
	}
	return imapclient.New(conn, opts), nil
}

// reader is the state of one session on one mailbox.
type reader struct {
	c           *Channel
	mb          *Mailbox
	cl          *imapclient.Client
	l           *lease
	uidValidity uint32
	uidNext     imap.UID
	last        imap.UID // last UID stored and flagged
	failures    map[imap.UID]int
}

// start reads the checkpoint. On the first visit, or when UIDVALIDITY
// changed (the server renumbered the mailbox), UIDs say nothing about what
// was read: then only unseen mail is imported (we flag what we store), and
// Message-ID deduplication drops any that had been stored already. Either
// way the mailbox is never re-imported as new conversations.
func (r *reader) start(ctx context.Context) error {
	h, err := r.c.rdb.HMGet(ctx, r.c.k.ckpt(r.mb.key()), "uidvalidity", "uid").Result()
	if err != nil {
		return fmt.Errorf("email: checkpoint: %w", err)
	}
	uv, _ := h[0].(string)
	uid, _ := h[1].(string)
	if uv == strconv.FormatUint(uint64(r.uidValidity), 10) {
		n, _ := strconv.ParseUint(uid, 10, 32)
		r.last = imap.UID(n)
		return nil
	}
	if uv != "" {
		r.c.log.WarnContext(ctx, "email: UIDVALIDITY changed; importing unseen mail only, deduplicated by Message-ID",
			"mailbox", r.mb.Address, "was", uv, "now", r.uidValidity)
	}
	res, err := r.cl.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("email: search unseen: %w", err)
	}
	// Start just below the first unseen mail; seen mail before it was read
	// by someone (or by us under the old numbering).
	var first imap.UID
	for _, u := range res.AllUIDs() {
		if first == 0 || u < first {
			first = u
		}
	}
	if first > 0 {
		r.last = first - 1
	} else if r.uidNext > 0 {
		r.last = r.uidNext - 1
	}
	return r.checkpoint(ctx)
}

func (r *reader) checkpoint(ctx context.Context) error {
	ok, err := scriptCheckpoint.Run(ctx, r.c.rdb, []string{r.l.key, r.c.k.ckpt(r.mb.key())},
		r.l.token, r.uidValidity, uint32(r.last)).Int()
	if err != nil {
		return fmt.Errorf("email: checkpoint: %w", err)
	}
	if ok != 1 {
		return errors.New("email: lease lost")
	}
	return nil
}

// catchUp stores every mail above the checkpoint, in UID order. Mail a
// human already marked \Seen is stored too: the checkpoint, not the flag,
// says what we have.
func (r *reader) catchUp(ctx context.Context) error {
	for {
		set := imap.UIDSet{imap.UIDRange{Start: r.last + 1, Stop: 0}}
		res, err := r.cl.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
		if err != nil {
			return fmt.Errorf("email: search: %w", err)
		}
		var uids []imap.UID
		for _, u := range res.AllUIDs() {
			// "n:*" always matches the last message, even below n.
			if u > r.last {
				uids = append(uids, u)
			}
		}
		if len(uids) == 0 {
			return nil
		}
		slices.Sort(uids)
		if len(uids) > fetchBatch {
			uids = uids[:fetchBatch]
		}
		if err := r.fetch(ctx, uids); err != nil {
			return err
		}
	}
}

func (r *reader) fetch(ctx context.Context, uids []imap.UID) error {
	section := &imap.FetchItemBodySection{Peek: true}
	cmd := r.cl.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section}})
	msgs, err := cmd.Collect()
	if err != nil {
		return fmt.Errorf("email: fetch: %w", err)
	}
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return cmp.Compare(a.UID, b.UID) })
	for _, m := range msgs {
		if m.UID <= r.last {
			continue
		}
		raw := m.FindBodySection(section)
		out, err := r.c.ingest(ctx, r.mb, raw, m.InternalDate)
		if err != nil {
			// Leave it unflagged and the checkpoint below it: the next
			// catch-up tries again. While Redis answers, a mail that keeps
			// failing is the mail's fault: after maxAttempts it is stored as
			// unreadable, and if even that fails it is skipped unflagged
			// (left for a person in the mailbox) so it never blocks the
			// mail behind it.
			if perr := r.c.rdb.Ping(ctx).Err(); perr != nil || ctx.Err() != nil {
				return fmt.Errorf("email: uid %d: %w", m.UID, err)
			}
			if r.failures == nil {
				r.failures = map[imap.UID]int{}
			}
			r.failures[m.UID]++
			if r.failures[m.UID] < maxAttempts {
				return fmt.Errorf("email: uid %d (attempt %d): %w", m.UID, r.failures[m.UID], err)
			}
			r.c.log.WarnContext(ctx, "email: mail refused; storing it as unreadable", "mailbox", r.mb.Address, "uid", m.UID, "err", err)
			out, err = r.c.ingestUnreadable(ctx, r.mb, raw, m.InternalDate, err)
			if err != nil {
				r.c.log.ErrorContext(ctx, "email: mail skipped, left unread in the mailbox", "mailbox", r.mb.Address, "uid", m.UID, "err", err)
				r.last = m.UID
				if err := r.checkpoint(ctx); err != nil {
					return err
				}
				continue
			}
		}
		// Flag only now that it is stored. A crash before the checkpoint
		// means a re-fetch, which Receive answers as a duplicate.
		if err := r.cl.Store(imap.UIDSetNum(m.UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
			return fmt.Errorf("email: flag uid %d: %w", m.UID, err)
		}
		r.last = m.UID
		if err := r.checkpoint(ctx); err != nil {
			return err
		}
		r.c.log.DebugContext(ctx, "email: mail", "mailbox", r.mb.Address, "uid", m.UID, "outcome", out)
	}
	return nil
}

// idle waits in IDLE for new mail. It returns nil when mail arrived or the
// renewal interval passed (the caller catches up and idles again), and an
// error when the connection dropped: go-imap's IDLE ends silently then, so
// its Wait is watched (emersion/go-imap#602).
func (r *reader) idle(ctx context.Context, notify <-chan struct{}) error {
	cmd, err := r.cl.Idle()
	if err != nil {
		return fmt.Errorf("email: idle: %w", err)
	}
	ended := make(chan error, 1)
	go func() { ended <- cmd.Wait() }()
	t := time.NewTimer(r.mb.IMAP.PollInterval)
	defer t.Stop()
	select {
	case err := <-ended:
		if err == nil {
			err = errors.New("connection closed")
		}
		return fmt.Errorf("email: idle ended: %w", err)
	case <-ctx.Done():
		_ = cmd.Close()
		return ctx.Err()
	case <-notify:
	case <-t.C:
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("email: stop idle: %w", err)
	}
	// The server answers DONE at once; no answer within the interval means
	// a dead connection that TCP has not noticed yet.
	select {
	case err := <-ended:
		if err != nil {
			return fmt.Errorf("email: idle: %w", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		return errors.New("email: idle: no answer to DONE")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func errString(err error) string {
	if err == nil {
		return "closed"
	}
	return err.Error()
}
