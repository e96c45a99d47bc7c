package conversation

// The outbox. What is guaranteed:
//
//   - A reply is in the transcript if and only if it is in the outbox: one
//     Lua script writes both (reply.lua).
//   - Every reply is eventually handed to its channel's Sender, by whichever
//     gateway claims it first, as long as some gateway runs Run: a claim is a
//     lease (the message's score in the outbox set moves to the lease
//     deadline), so a gateway that dies mid-send leaves the message to be
//     claimed again when the lease lapses. Nothing is lost by a crash or a
//     restart, of the gateway or of an AOF-persisted Redis. A reply that
//     enters the outbox (see below) while this process runs Run with a
//     free send worker is claimed by the script that writes it (the same
//     lease), and sent at once.
//   - A reply is sent at least once, not exactly once. It is sent twice only
//     when a gateway dies (or loses Redis) after the provider accepted the
//     message and before finish.lua recorded that, or when one Send outlives
//     the lease. Outbound.Attempt counts claims from 1, so a Sender whose
//     provider takes an idempotency key can derive it from MessageID and
//     skip the second delivery; Twilio's Messages API takes none, so for SMS
//     that window remains (it is the time of one HTTP round trip).
//   - Replies of one conversation are sent in the order they were written:
//     only the oldest unfinished reply of a conversation is in the outbox;
//     the next enters when it is sent or has failed for good. A reply that
//     keeps failing temporarily holds back the ones after it.
//   - Once one attempt has been recorded as sent, later outcomes of older
//     attempts are ignored, and the first provider id is kept.
//   - A temporary failure (ErrTemporary) is retried with exponential backoff
//     (BaseBackoff doubling up to MaxBackoff, 20% jitter) up to MaxAttempts;
//     any other error fails the message for good, with a PermanentError's
//     code and text kept on it and shown in the transcript.
//   - A send turned away unsent because the provider or channel was busy
//     (BusyError) is put back in the outbox for a moment and counts no
//     attempt, and writes nothing to the transcript: a burst of replies
//     waits out a rate limit instead of using up its attempts. After
//     MaxBusyWait of that, busy counts as a temporary failure.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// Reply appends an agent's reply to the transcript and queues it for the
// channel's Sender. Attachments must have been stored with StoreAttachment.
func (s *Service) Reply(ctx context.Context, convID, agentID, text string, atts []channel.Attachment) (Entry, error) {
	return s.appendAgent(ctx, EntryAgent, convID, agentID, text, atts)
}

// Note appends an internal note, which customers never see. Notes may be
// added to closed conversations.
func (s *Service) Note(ctx context.Context, convID, agentID, text string) (Entry, error) {
	return s.appendAgent(ctx, EntryNote, convID, agentID, text, nil)
}

func (s *Service) appendAgent(ctx context.Context, kind EntryType, convID, agentID, text string, atts []channel.Attachment) (Entry, error) {
	if text == "" && len(atts) == 0 {
		return Entry{}, fmt.Errorf("conversation: %s: %w", kind, &FieldError{Field: "text", Reason: "text or an attachment is required"})
	}
	if err := s.checkAttachments(ctx, atts); err != nil {
		return Entry{}, fmt.Errorf("conversation: %s: %w", kind, err)
	}
	var att string
	if len(atts) > 0 {
		b, err := json.Marshal(atts)
		if err != nil {
			return Entry{}, fmt.Errorf("conversation: %s: attachments: %w", kind, err)
		}
		att = string(b)
	}
	id := newID("m_")
	now := s.now()
	// A reply that can be sent at once is claimed by the script that
	// writes it, for a send worker of this process reserved now.
	var runCtx context.Context
	lease := int64(0)
	if kind == EntryAgent {
		if c, ok := s.workers.take(); ok {
			runCtx, lease = c, ms(now.Add(s.ob.Lease))
		}
	}
	sending := false
	if runCtx != nil {
		// The worker goes back unless a send took it, whatever happens
		// on the way (an error, a Notifier that panics).
		defer func() {
			if !sending {
				s.workers.put()
			}
		}()
	}
	res, err := scriptReply.Run(ctx, s.rdb,
		[]string{s.k.conv(convID), s.k.convLog(convID), s.k.msg(id), s.k.outbox()},
		string(kind), id, agentID, text, att, ms(now), lease, s.k.prefix()).Slice()
	if err != nil {
		return Entry{}, fmt.Errorf("conversation: %s on %s: %w", kind, convID, err)
	}
	switch code, _ := res[0].(int64); code {
	case 1:
		return Entry{}, fmt.Errorf("conversation: %s: %w", convID, ErrNotFound)
	case 2:
		return Entry{}, fmt.Errorf("conversation: reply on %s: %w", convID, ErrClosed)
	}
	sid, _ := res[1].(string)
	e := Entry{ID: sid, Type: kind, MessageID: id, Author: agentID, Text: text, Attachments: atts, At: now.UTC().Truncate(time.Millisecond)}
	if kind == EntryAgent {
		e.Status = "pending"
	}
	// Notify before sending, so this process reports the reply before its
	// status entries.
	s.notify(ctx, convID, e)
	switch {
	case len(res) == 2+len(replyClaimFields):
		h := map[string]string{"text": text}
		for i, f := range replyClaimFields {
			h[f], _ = res[2+i].(string)
		}
		if att != "" {
			h["attachments"] = att
		}
		sending = true
		go s.send(runCtx, id, 1, h)
	case kind == EntryAgent:
		s.kick()
	}
	return e, nil
}

// replyClaimFields name what reply.lua returns after the stream id when it
// claims the reply: what its send needs besides what the caller wrote.
var replyClaimFields = []string{"conv", "channel", "from", "to", "thread_hint", "opted_out"}

// kick wakes this process's outbox loop so a reply leaves at once instead
// of at the next poll.
func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Message returns an agent reply with its send and delivery state.
func (s *Service) Message(ctx context.Context, id string) (Message, error) {
	h, err := s.rdb.HGetAll(ctx, s.k.msg(id)).Result()
	if err != nil {
		return Message{}, fmt.Errorf("conversation: message %s: %w", id, err)
	}
	if len(h) == 0 {
		return Message{}, fmt.Errorf("conversation: message %s: %w", id, ErrNotFound)
	}
	n, _ := strconv.Atoi(h["attempts"])
	deferrals, _ := strconv.Atoi(h["deferrals"])
	m := Message{
		ID: h["id"], ConversationID: h["conv"], Channel: channel.Name(h["channel"]), AgentID: h["agent"],
		Text: h["text"], Status: h["status"], Attempts: n - deferrals, Deferrals: deferrals, ProviderID: h["provider_id"],
		ErrorCode: h["error_code"], ErrorText: h["error_text"], EntryID: h["entry_id"],
		CreatedAt: fromMS(h["created_at"]), SentAt: fromMS(h["sent_at"]),
	}
	if h["attachments"] != "" {
		if err := json.Unmarshal([]byte(h["attachments"]), &m.Attachments); err != nil {
			return Message{}, fmt.Errorf("conversation: message %s: attachments: %w", id, err)
		}
	}
	return m, nil
}

// Run sends queued replies and re-enqueues conversations routing has not
// taken, until ctx ends. Run it in every gateway, once per Service: claims
// are leases, so several loops share the work and a dead one's messages
// are picked up.
func (s *Service) Run(ctx context.Context) error {
	if !s.workers.start(ctx) {
		return errors.New("conversation: Run is already running on this Service")
	}
	defer s.workers.stop()
	t := time.NewTicker(s.ob.Poll)
	defer t.Stop()
	lastRoute := time.Time{}
	for {
		if time.Since(lastRoute) >= s.ob.RouteRetry/2 {
			s.retryUnrouted(ctx)
			lastRoute = time.Now()
		}
		for {
			n, free, err := s.claimAndSend(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "conversation: outbox claim", "err", err)
			}
			if n < free || free == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

// claimAndSend claims as many due messages as there are free workers and
// starts sending them. It returns how many it claimed of how many workers
// were free.
func (s *Service) claimAndSend(ctx context.Context) (claimed, free int, err error) {
	free = s.workers.reserve()
	if free == 0 {
		return 0, 0, nil
	}
	defer func() {
		for range free - claimed {
			s.workers.put()
		}
	}()
	now := s.now()
	res, err := scriptClaim.Run(ctx, s.rdb, []string{s.k.outbox()},
		s.k.prefix(), ms(now), ms(now.Add(s.ob.Lease)), free).StringSlice()
	if err != nil {
		return 0, free, fmt.Errorf("conversation: claim: %w", err)
	}
	for i := 0; i+2 < len(res) && claimed < free; {
		id := res[i]
		attempt, _ := strconv.Atoi(res[i+1])
		n, _ := strconv.Atoi(res[i+2])
		i += 3
		if n < 0 || i+2*n > len(res) {
			return claimed, free, fmt.Errorf("conversation: claim: message %s with %d fields in %d values", id, n, len(res))
		}
		h := make(map[string]string, n)
		for j := range n {
			h[res[i+2*j]] = res[i+2*j+1]
		}
		i += 2 * n
		claimed++
		go s.send(ctx, id, attempt, h)
	}
	return claimed, free, nil
}

// send is one send worker's attempt at a claimed message; it gives the
// worker back when done.
func (s *Service) send(ctx context.Context, id string, attempt int, h map[string]string) {
	defer s.workers.put()
	if ctx.Err() != nil {
		return // Run is ending: the lease lapses and a claim decides
	}
	if err := s.sendOne(ctx, id, attempt, h); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "conversation: send", "message", id, "attempt", attempt, "err", err)
	}
}

// sendWorkers are a process's send workers, shared by Run's claims and by
// replies claimed as they are written. A send runs with Run's context,
// not its caller's: it outlives the request that wrote the reply. While
// Run's claim is out it holds every free worker; a reply written then
// wakes Run, whose next claim takes it.
type sendWorkers struct {
	mu   sync.Mutex
	ctx  context.Context // Run's while it runs; nil otherwise
	busy int
	max  int
	wg   sync.WaitGroup
}

// start opens the workers to sends with ctx; false if they already are.
func (w *sendWorkers) start(ctx context.Context) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx != nil {
		return false
	}
	w.ctx = ctx
	return true
}

// stop refuses new sends and waits for those under way.
func (w *sendWorkers) stop() {
	w.mu.Lock()
	w.ctx = nil
	w.mu.Unlock()
	w.wg.Wait()
}

// take reserves one worker, if Run is running and one is free, and
// returns the context its send runs with.
func (w *sendWorkers) take() (context.Context, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil || w.ctx.Err() != nil || w.busy >= w.max {
		return nil, false
	}
	w.busy++
	w.wg.Add(1)
	return w.ctx, true
}

// reserve takes every free worker and says how many.
func (w *sendWorkers) reserve() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.max - w.busy
	if w.ctx == nil || n <= 0 {
		return 0
	}
	w.busy += n
	w.wg.Add(n)
	return n
}

// put gives a worker back.
func (w *sendWorkers) put() {
	w.mu.Lock()
	w.busy--
	w.mu.Unlock()
	w.wg.Done()
}

// sendOne makes one attempt at message id, whose fields h the claim read,
// and records its outcome. When ctx ends during the send nothing is
// recorded: the lease lapses and another claim decides, because the
// provider may or may not have taken the message.
func (s *Service) sendOne(ctx context.Context, id string, attempt int, h map[string]string) error {
	// Claims put off as busy did not count as attempts.
	deferrals, _ := strconv.Atoi(h["deferrals"])
	tries := attempt - deferrals
	out := channel.Outbound{
		ConversationID: h["conv"], MessageID: id, Channel: channel.Name(h["channel"]),
		From: h["from"], To: h["to"], Text: h["text"], ThreadHint: h["thread_hint"], Subject: h["subject"], Attempt: attempt,
		OptOut: optOutOf(h["opted_out"]),
	}
	if h["attachments"] != "" {
		if err := json.Unmarshal([]byte(h["attachments"]), &out.Attachments); err != nil {
			return s.finish(ctx, id, attempt, tries, outcome{kind: "failed", code: "bad_attachments", text: err.Error()})
		}
	}
	snd := s.sender(out.Channel)
	if snd == nil {
		return s.finish(ctx, id, attempt, tries, outcome{kind: "failed", code: "no_sender", text: "no sender for channel " + string(out.Channel)})
	}
	sctx, cancel := context.WithTimeout(ctx, s.ob.SendTimeout)
	res, err := snd.Send(sctx, out)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var pe *channel.PermanentError
	var busy *channel.BusyError
	switch {
	case err == nil:
		st := res.Status
		if st == "" {
			st = "sent"
		}
		return s.finish(ctx, id, attempt, tries, outcome{kind: "sent", channel: out.Channel, providerID: res.ProviderID, status: st})
	case errors.As(err, &busy) && s.mayPutOff(h["busy_since"]):
		return s.finish(ctx, id, attempt, tries, outcome{kind: "later", text: err.Error(), next: s.now().Add(s.busyDelay(busy, deferrals))})
	case errors.Is(err, channel.ErrTemporary) || errors.Is(err, context.DeadlineExceeded):
		if tries >= s.ob.MaxAttempts {
			return s.finish(ctx, id, attempt, tries, outcome{kind: "failed", code: "attempts", text: fmt.Sprintf("gave up after %d attempts: %v", tries, err)})
		}
		return s.finish(ctx, id, attempt, tries, outcome{kind: "retry", text: err.Error(), next: s.now().Add(s.backoff(tries))})
	case errors.As(err, &pe):
		return s.finish(ctx, id, attempt, tries, outcome{kind: "failed", code: pe.Code, text: pe.Message})
	default:
		return s.finish(ctx, id, attempt, tries, outcome{kind: "failed", text: err.Error()})
	}
}

// backoff is BaseBackoff·2^(attempt-1), capped at MaxBackoff, less up to
// 20% jitter so that a burst of failures does not retry in lockstep.
func (s *Service) backoff(attempt int) time.Duration {
	return doubled(s.ob.BaseBackoff, s.ob.MaxBackoff, attempt-1)
}

// doubled is first·2^n, capped at most, less up to 20% jitter.
func doubled(first, most time.Duration, n int) time.Duration {
	d := first
	for i := 0; i < n && d < most; i++ {
		d *= 2
	}
	d = min(d, most)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// mayPutOff says whether a busy answer may still put the message off
// without counting an attempt: it has not been busy for MaxBusyWait since
// its first busy answer (busySince, unix ms; empty before any).
func (s *Service) mayPutOff(busySince string) bool {
	since := fromMS(busySince)
	return since.IsZero() || s.now().Sub(since) < s.ob.MaxBusyWait
}

// busyDelay is how long a message stays put off after its sender's
// deferrals-th busy answer before this one: what the sender asked for,
// plus up to 20%, or 250ms doubling up to 15s, less up to 20%.
func (s *Service) busyDelay(b *channel.BusyError, deferrals int) time.Duration {
	if b.RetryAfter > 0 {
		// Up to 20% later, so that replies put off together do not all
		// come back at once.
		d := min(b.RetryAfter, s.ob.MaxBackoff)
		return d + time.Duration(rand.Int64N(int64(d)/5+1))
	}
	return doubled(busyFirstDelay, busyMaxDelay, deferrals)
}

// A busy provider usually frees up within a second (a concurrency limit,
// a connection handed back); one that stays busy is asked less often.
const (
	busyFirstDelay = 250 * time.Millisecond
	busyMaxDelay   = 15 * time.Second
)

type outcome struct {
	kind       string // sent, later, retry, failed
	channel    channel.Name
	providerID string
	status     string
	code, text string
	next       time.Time
}

// finish records the outcome of the claim attempt, which was the
// provider's tries-th attempt (claims put off as busy do not count).
func (s *Service) finish(ctx context.Context, id string, attempt, tries int, o outcome) error {
	now := s.now()
	res, err := scriptFinish.Run(ctx, s.rdb, []string{s.k.outbox(), s.k.msg(id)},
		s.k.prefix(), ms(now), attempt, o.kind, ms(o.next), o.providerID, o.status,
		statusRank(o.status), o.code, o.text, int64(s.thrTTL/time.Second), s.k.early(o.channel), s.evCap, tries,
		flag(threadsByMessageID(o.channel))).Slice()
	if err != nil {
		return fmt.Errorf("record %s: %w", o.kind, err)
	}
	if code, _ := res[0].(int64); code != 0 {
		return nil
	}
	sid, _ := res[1].(string)
	conv, _ := res[2].(string)
	fields := map[string]any{}
	for i := 4; i+1 < len(res); i += 2 {
		k, _ := res[i].(string)
		fields[k] = res[i+1]
	}
	e := entryFromStream(sid, fields)
	e.ReplyEntryID, _ = res[3].(string)
	s.notify(ctx, conv, e)
	return nil
}

// earlyStatusTTL (seconds) is how long a status for a not-yet-recorded
// provider id waits for the send to be recorded.
const earlyStatusTTL = 600

// UpdateDelivery lands a provider's delivery status on the reply it names.
// A status older than the one recorded is ignored. An unknown provider id
// returns ErrUnknownMessage, and the status is kept for ten minutes in case
// the send that produced the id is still being recorded (a fast callback
// can overtake it); channels acknowledge such callbacks anyway.
func (s *Service) UpdateDelivery(ctx context.Context, st channel.DeliveryStatus) error {
	if st.ProviderID == "" {
		return fmt.Errorf("conversation: delivery: %w", &FieldError{Field: "provider_id", Reason: "required"})
	}
	now := s.now()
	at := st.At
	if at.IsZero() {
		at = now
	}
	res, err := scriptDelivery.Run(ctx, s.rdb, []string{s.k.provMsg(st.Channel, st.ProviderID), s.k.early(st.Channel) + st.ProviderID},
		s.k.prefix(), ms(now), st.Status, statusRank(st.Status), st.ErrorCode, st.ErrorText, ms(at), earlyStatusTTL, s.evCap).Slice()
	if err != nil {
		return fmt.Errorf("conversation: delivery %s %s: %w", st.Channel, st.ProviderID, err)
	}
	switch code, _ := res[0].(int64); code {
	case 1:
		return fmt.Errorf("conversation: delivery %s %s: %w", st.Channel, st.ProviderID, ErrUnknownMessage)
	case 3:
		return nil
	}
	sid, _ := res[1].(string)
	conv, _ := res[2].(string)
	msg, _ := res[3].(string)
	entryID, _ := res[4].(string)
	s.notify(ctx, conv, Entry{ID: sid, Type: EntryStatus, MessageID: msg, ReplyEntryID: entryID, Status: st.Status,
		ErrorCode: st.ErrorCode, ErrorText: st.ErrorText, At: now.UTC().Truncate(time.Millisecond)})
	return nil
}
