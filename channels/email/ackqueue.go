package email

import (
	"context"
	"sync"
	"time"
)

// A mailbox's reader never waits for an acknowledgement. It stores the
// mail, hands the acknowledgement to the mailbox's ackQueue and reads on;
// at most ackAtOnce senders send them, oldest first. Acknowledgements wait
// behind agents' replies for the mailbox's SMTP connections, so while
// replies keep every connection busy they pile up here instead of holding
// up the mail behind them.

// ackAtOnce bounds the acknowledgements of one mailbox under way at one
// time. (Per mailbox: a slow server holds up its own mailbox only.)
const ackAtOnce = 8

// ackBacklog bounds the acknowledgements of one mailbox waiting for a
// sender (a few hundred bytes each); one more is dropped and logged. More
// would seldom go out within ackTimeout anyway: that takes a server
// answering ackAtOnce senders a hundred acknowledgements a second.
const ackBacklog = 1000

// ackTimeout bounds one acknowledgement from when its mail was stored, the
// wait in the queue and for a connection included: one that cannot go out
// by then is dropped and logged, as one the server refused, rather than
// sent late. It stays within the gateway's default shutdown wait.
const ackTimeout = 10 * time.Second

// ackJob is one acknowledgement waiting its turn.
type ackJob struct {
	// ctx is the reader's, without its end: its values, for the logs.
	ctx      context.Context
	mb       *Mailbox
	ack      ackMail // what it needs of the mail, not the mail: a full queue holds no bodies
	deadline time.Time
	// waited: every sender was busy, so it waited for another
	// acknowledgement to end, and may have become moot meanwhile.
	waited bool
}

// ackQueue runs one mailbox's acknowledgements, at most atOnce at a time,
// each on a sender that then takes the oldest waiting one, and so on until
// none waits; then it ends, so an idle mailbox has no sender. At most limit
// wait for a sender.
type ackQueue struct {
	send          func(ackJob)
	limit, atOnce int

	mu      sync.Mutex
	pending []ackJob // waiting for a sender, oldest first: only while all atOnce run
	senders int
	wg      sync.WaitGroup // the senders
}

func newAckQueue(limit, atOnce int, send func(ackJob)) *ackQueue {
	return &ackQueue{send: send, limit: limit, atOnce: atOnce}
}

// push hands j to a new sender when fewer than atOnce run, else queues it;
// false when limit are already waiting (j is dropped). It never waits.
func (q *ackQueue) push(j ackJob) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	// A sender ends only when none waits, so none waits while fewer than
	// atOnce run: handing j straight to a new one keeps the order.
	if q.senders < q.atOnce {
		q.senders++
		q.wg.Add(1)
		go q.sender(j)
		return true
	}
	if len(q.pending) >= q.limit {
		return false
	}
	j.waited = true
	q.pending = append(q.pending, j)
	return true
}

// sender sends j, then what waits, oldest first, until nothing does.
func (q *ackQueue) sender(j ackJob) {
	defer q.wg.Done()
	for ok := true; ok; j, ok = q.next() {
		q.send(j)
	}
}

// next takes the oldest waiting job; false, with the sender counted out,
// when there is none.
func (q *ackQueue) next() (ackJob, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		q.senders--
		return ackJob{}, false
	}
	j := q.pending[0]
	q.pending[0] = ackJob{}
	q.pending = q.pending[1:]
	if len(q.pending) == 0 {
		q.pending = nil // let the array go
	}
	return j, true
}

// drop empties the queue and returns what it held; the jobs under way go
// on.
func (q *ackQueue) drop() []ackJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.pending
	q.pending = nil
	return out
}

// wait returns once every sender has ended. No push may come meanwhile
// (the WaitGroup's rule): call it once the mailbox's reader has returned.
func (q *ackQueue) wait() { q.wg.Wait() }

// acknowledgeApart hands the acknowledgement of a new conversation to the
// mailbox's queue and returns at once: sent inline, a provider taking
// 50 ms per command held one mailbox to about seven mails a second
// (docs/benchmarks.md), and a reader waiting for a free sender read about
// ackAtOnce mails per ackTimeout while replies kept every connection busy.
// When ackBacklog already wait it is dropped and logged; the mail is
// stored either way. Its ackTimeout starts now.
func (c *Channel) acknowledgeApart(ctx context.Context, mb *Mailbox, m *Message, convID string) {
	q := c.ackQueues[mb.Address]
	if q == nil { // not one of this channel's mailboxes
		c.acknowledge(ctx, mb, m, convID)
		return
	}
	a, ok := c.ackMailOf(ctx, m, convID)
	if !ok {
		return
	}
	j := ackJob{ctx: context.WithoutCancel(ctx), mb: mb, ack: a, deadline: time.Now().Add(ackTimeout)}
	if !q.push(j) {
		c.log.WarnContext(ctx, "email: acknowledgement dropped: too many waiting", "conversation", convID,
			"mailbox", mb.Address, "waiting", q.limit)
	}
}

// sendQueued sends a queued acknowledgement within what is left of its
// time. One that waited for a sender asks first whether an agent has
// answered meanwhile, as one that waits for a connection does
// (channel.SendSlots.TakeForAcknowledgement): "we will be with you" must
// not follow the answer. When that cannot be read it goes.
func (c *Channel) sendQueued(j ackJob) {
	if !time.Now().Before(j.deadline) {
		c.log.WarnContext(j.ctx, "email: acknowledgement dropped: its turn came too late", "conversation", j.ack.convID,
			"mailbox", j.mb.Address, "within", ackTimeout)
		return
	}
	ctx, cancel := context.WithDeadline(j.ctx, j.deadline)
	defer cancel()
	if j.waited {
		if answered, _ := c.core.Answered(ctx, j.ack.convID); answered {
			c.log.InfoContext(ctx, "email: acknowledgement not sent: an agent answered first", "conversation", j.ack.convID)
			return
		}
	}
	c.sendAck(ctx, j.mb, j.ack)
}
