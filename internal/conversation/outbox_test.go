package conversation

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/redistest"
)

func openConv(t *testing.T, e *env) channel.Receipt {
	t.Helper()
	r, err := e.svc.Receive(context.Background(), sms("+14155550101", "hi", "SM-in-1"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func waitStatus(t *testing.T, e *env, id, status string) Message {
	t.Helper()
	var m Message
	eventually(t, "message "+id+" "+status, func() bool {
		var err error
		m, err = e.svc.Message(context.Background(), id)
		return err == nil && m.Status == status
	})
	return m
}

func TestOutboxRetryThenSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	temp := func(channel.Outbound) (channel.SendResult, error) {
		return channel.SendResult{}, fmt.Errorf("twilio 503: %w", channel.ErrTemporary)
	}
	e.sender.script = []func(channel.Outbound) (channel.SendResult, error){temp, temp}
	ctx := context.Background()
	r := openConv(t, e)
	e.run(t)
	en, err := e.svc.Reply(ctx, r.ConversationID, "ana", "on it", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := waitStatus(t, e, en.MessageID, "queued") // the provider's first word, after "pending"
	if m.Attempts != 3 || m.ProviderID != "SM"+en.MessageID || m.SentAt.IsZero() {
		t.Fatalf("message = %+v", m)
	}
	calls := e.sender.sent()
	if len(calls) != 3 || calls[2].Attempt != 3 || calls[0].To != "+14155550101" || calls[0].From != "+14155550000" {
		t.Fatalf("sends = %+v", calls)
	}
	// Delivery statuses land on the message, never backwards.
	for _, st := range []string{"delivered", "sent"} {
		if err := e.svc.UpdateDelivery(ctx, channel.DeliveryStatus{Channel: channel.SMS, ProviderID: m.ProviderID, Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := e.svc.Message(ctx, en.MessageID); m.Status != "delivered" {
		t.Fatalf("status = %s, want delivered", m.Status)
	}
	if err := e.svc.UpdateDelivery(ctx, channel.DeliveryStatus{Channel: channel.SMS, ProviderID: "SMnope", Status: "sent"}); !errors.Is(err, ErrUnknownMessage) {
		t.Fatalf("unknown provider id: %v", err)
	}
	tr, _ := e.svc.Transcript(ctx, r.ConversationID, "", 0)
	var statuses []string
	for _, x := range tr {
		if x.Type == EntryStatus {
			statuses = append(statuses, x.Status)
		}
	}
	if strings.Join(statuses, ",") != "retrying,retrying,queued,delivered" {
		t.Fatalf("status entries = %v", statuses)
	}
	c, _ := e.svc.Conversation(ctx, r.ConversationID)
	if c.FirstReplyAt.IsZero() {
		t.Fatal("first reply time not recorded")
	}
}

// Answered tells whether an agent has replied: not for a note, yes once a
// reply is written (before it is sent), and not found for no conversation.
func TestAnsweredOnceAnAgentReplies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	r := openConv(t, e)
	if _, err := e.svc.Note(ctx, r.ConversationID, "ana", "looking into it"); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.svc.Answered(ctx, r.ConversationID); ok || err != nil {
		t.Fatalf("before any reply: %v, %v", ok, err)
	}
	if _, err := e.svc.Reply(ctx, r.ConversationID, "ana", "It left today.", nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.svc.Answered(ctx, r.ConversationID); !ok || err != nil {
		t.Fatalf("after a reply: %v, %v", ok, err)
	}
	if _, err := e.svc.Answered(ctx, "c_nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown conversation: %v", err)
	}
}

func TestOutboxPermanentFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(p *Params) {
		p.Outbox.MaxAttempts = 2
		delete(p.Senders, channel.Email)
	})
	ctx := context.Background()
	cases := []struct {
		desc     string
		send     func(channel.Outbound) (channel.SendResult, error)
		code     string
		text     string
		attempts int
	}{
		{"provider refusal", func(channel.Outbound) (channel.SendResult, error) {
			return channel.SendResult{}, fmt.Errorf("twilio: %w", &channel.PermanentError{Code: "21610", Message: "unsubscribed recipient"})
		}, "21610", "unsubscribed recipient", 1},
		{"plain error", func(channel.Outbound) (channel.SendResult, error) {
			return channel.SendResult{}, errors.New("bad request")
		}, "", "bad request", 1},
		{"temporary too often", func(channel.Outbound) (channel.SendResult, error) { return channel.SendResult{}, channel.ErrTemporary }, "attempts", "gave up after 2 attempts", 2},
	}
	r := openConv(t, e)
	e.run(t)
	for _, c := range cases {
		e.sender.mu.Lock()
		e.sender.calls = nil
		e.sender.script = []func(channel.Outbound) (channel.SendResult, error){c.send, c.send}
		e.sender.mu.Unlock()
		en, err := e.svc.Reply(ctx, r.ConversationID, "ana", c.desc, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := waitStatus(t, e, en.MessageID, "failed")
		if m.ErrorCode != c.code || !strings.Contains(m.ErrorText, c.text) || m.Attempts != c.attempts {
			t.Fatalf("%s: message = %+v", c.desc, m)
		}
	}
	// No sender for the channel fails for good, visibly.
	mail, _ := e.svc.Receive(ctx, channel.Inbound{Channel: channel.Email, From: "bo@example.com", To: "help@x.example", Text: "q", ProviderID: "<m1@x>"})
	en, err := e.svc.Reply(ctx, mail.ConversationID, "ana", "answer", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := waitStatus(t, e, en.MessageID, "failed"); m.ErrorCode != "no_sender" {
		t.Fatalf("no sender: %+v", m)
	}
	tr, _ := e.svc.Transcript(ctx, mail.ConversationID, "", 0)
	if last := tr[len(tr)-1]; last.Type != EntryStatus || last.Status != "failed" || last.ErrorCode != "no_sender" {
		t.Fatalf("last entry = %+v", last)
	}
}

func TestReplyNoteClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	r := openConv(t, e)
	if _, err := e.svc.Reply(ctx, "cv_nope", "ana", "x", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown conversation: %v", err)
	}
	if _, err := e.svc.Reply(ctx, r.ConversationID, "ana", "", nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty reply: %v", err)
	}
	if _, err := e.svc.Close(ctx, r.ConversationID, "ana", "resolved"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reply(ctx, r.ConversationID, "ana", "late", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("reply after close: %v", err)
	}
	n, err := e.svc.Note(ctx, r.ConversationID, "ana", "called back by phone")
	if err != nil || n.Type != EntryNote {
		t.Fatalf("note after close: %+v %v", n, err)
	}
	if c, _ := e.rdb.ZCard(ctx, e.svc.k.outbox()).Result(); c != 0 {
		t.Fatalf("outbox holds %d after a note", c)
	}
}

// A gateway dies mid-send (its Send never returns); a new Service on the
// same Redis, after the lease, sends the message with the next attempt
// number, and a reply queued while no gateway ran is sent as well.
func TestOutboxRestartMidSend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	r := openConv(t, e)
	e.sender.block = true
	stop := e.run(t)
	first, err := e.svc.Reply(ctx, r.ConversationID, "ana", "first", nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "send started", func() bool { return len(e.sender.sent()) == 1 })
	stop() // the process is gone; its Send never reported back

	second, err := e.svc.Reply(ctx, r.ConversationID, "ana", "second", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := e.svc.Message(ctx, first.MessageID); m.Status != "sending" {
		t.Fatalf("before restart: %+v", m)
	}

	// A new process: new Service, new client, same Redis and workspace.
	sender2 := &fakeSender{}
	p := e.params
	p.Redis = server.Connect(t)
	p.Senders = map[channel.Name]Sender{channel.SMS: sender2}
	svc2, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = svc2.Run(ctx2); close(done) }()
	defer func() { cancel(); <-done }()
	eventually(t, "both sent", func() bool {
		a, _ := svc2.Message(ctx, first.MessageID)
		b, _ := svc2.Message(ctx, second.MessageID)
		return a.SentAt.After(time.Time{}) && b.SentAt.After(time.Time{})
	})
	calls := sender2.sent()
	if len(calls) != 2 {
		t.Fatalf("second process sent %d messages, want 2: %+v", len(calls), calls)
	}
	for _, c := range calls {
		want := 1
		if c.MessageID == first.MessageID {
			want = 2 // the dead process's claim counted as attempt 1
		}
		if c.Attempt != want {
			t.Fatalf("%s sent as attempt %d, want %d", c.MessageID, c.Attempt, want)
		}
	}
	if n, _ := e.rdb.ZCard(ctx, e.svc.k.outbox()).Result(); n != 0 {
		t.Fatalf("outbox still holds %d", n)
	}
}

// A delivery callback that overtakes the recording of the send is applied
// once the send is recorded.
func TestDeliveryStatusBeforeSendRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	r := openConv(t, e)
	e.sender.script = []func(channel.Outbound) (channel.SendResult, error){func(o channel.Outbound) (channel.SendResult, error) {
		err := e.svc.UpdateDelivery(ctx, channel.DeliveryStatus{Channel: channel.SMS, ProviderID: "SM-fast", Status: "delivered"})
		if !errors.Is(err, ErrUnknownMessage) {
			t.Errorf("early status: %v", err)
		}
		return channel.SendResult{ProviderID: "SM-fast", Status: "queued"}, nil
	}}
	n := &recNotifier{}
	e.svc.notifier = n
	e.run(t)
	en, err := e.svc.Reply(ctx, r.ConversationID, "ana", "hi", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, en.MessageID, "delivered")
	// The notification follows the write; clients order by entry id.
	eventually(t, "delivered notification", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, x := range n.entries {
			if x.Type == EntryStatus && x.Status == "delivered" && x.MessageID == en.MessageID {
				return true
			}
		}
		return false
	})
}

// Redis itself is killed (SIGKILL) with replies queued; with the
// append-only file nothing acknowledged is lost, and a new Service sends it.
func TestOutboxSurvivesRedisKill(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, redistest.Options{AOF: true})
	e := newEnv(t, func(p *Params) { p.Redis = srv.NewClient(t) })
	ctx := context.Background()
	r := openConv(t, e)
	en, err := e.svc.Reply(ctx, r.ConversationID, "ana", "survive", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := srv.Restart(redistest.Options{AOF: true}); err != nil {
		t.Fatal(err)
	}
	p := e.params
	p.Redis = srv.NewClient(t)
	svc2, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = svc2.Run(ctx2); close(done) }()
	defer func() { cancel(); <-done }()
	eventually(t, "sent after redis restart", func() bool {
		m, err := svc2.Message(ctx, en.MessageID)
		return err == nil && !m.SentAt.IsZero()
	})
	if tr, err := svc2.Transcript(ctx, r.ConversationID, "", 0); err != nil || len(tr) < 3 {
		t.Fatalf("transcript after restart: %d entries, %v", len(tr), err)
	}
}

// Replies leave in the order agents wrote them, even when the first one
// needs retries and several workers are free.
func TestOutboxKeepsOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	temp := func(channel.Outbound) (channel.SendResult, error) { return channel.SendResult{}, channel.ErrTemporary }
	e.sender.script = []func(channel.Outbound) (channel.SendResult, error){temp, temp}
	ctx := context.Background()
	r := openConv(t, e)
	var ids []string
	for i := range 4 {
		en, err := e.svc.Reply(ctx, r.ConversationID, "ana", fmt.Sprint("part ", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, en.MessageID)
	}
	e.run(t)
	eventually(t, "all sent", func() bool {
		m, _ := e.svc.Message(ctx, ids[3])
		return !m.SentAt.IsZero()
	})
	var order []string
	for _, c := range e.sender.sent() {
		if len(order) == 0 || order[len(order)-1] != c.MessageID {
			order = append(order, c.MessageID)
		}
	}
	if strings.Join(order, ",") != strings.Join(ids, ",") {
		t.Fatalf("send order %v, want %v", order, ids)
	}
	c, _ := e.svc.Conversation(ctx, r.ConversationID)
	if n, _ := e.rdb.HGet(ctx, e.svc.k.conv(c.ID), "outbox_head").Result(); n != "" {
		t.Fatalf("outbox head left: %q", n)
	}
}

// TestSendReadsNothingBeyondTheClaim: the claim hands each message over
// with what its send needs (addresses, text, attachments), so sending a
// reply reads no message record, and the provider gets it whole.
func TestSendReadsNothingBeyondTheClaim(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	r := openConv(t, e)
	reads := &redistest.Counter{}
	e.rdb.AddHook(reads)
	e.run(t)
	en, err := e.svc.Reply(ctx, r.ConversationID, "ana", "Your refund left today.", nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reply handed to the provider", func() bool { return len(e.sender.sent()) > 0 })
	sent := e.sender.sent()
	if len(sent) != 1 {
		t.Fatalf("%d sends, want 1", len(sent))
	}
	if o := sent[0]; o.MessageID != en.MessageID || o.ConversationID != r.ConversationID || o.Channel != channel.SMS ||
		o.To != "+14155550101" || o.From != "+14155550000" || o.Text != "Your refund left today." || o.Attempt != 1 {
		t.Fatalf("sent %+v", o)
	}
	if n := reads.Alone("hgetall"); n != 0 {
		t.Fatalf("%d record reads to send one reply; the claim hands over what the send needs", n)
	}
	waitStatus(t, e, en.MessageID, "queued") // the provider's word, recorded
}

// claimWatch is a client hook that records the message ids claim.lua
// handed out, alone or in a pipeline.
type claimWatch struct {
	mu    sync.Mutex
	ids   map[string]int
	calls int // claim.lua calls, answered or not
}

func (w *claimWatch) DialHook(next redis.DialHook) redis.DialHook { return next }

func (w *claimWatch) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		w.saw(cmd)
		return err
	}
}

func (w *claimWatch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			w.saw(c)
		}
		return err
	}
}

func (w *claimWatch) saw(cmd redis.Cmder) {
	args := cmd.Args()
	c, ok := cmd.(*redis.Cmd)
	if !ok || len(args) < 2 || !isClaim(args[0], args[1]) {
		return
	}
	res, _ := c.StringSlice()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.ids == nil {
		w.ids = map[string]int{}
	}
	for _, v := range res {
		if strings.HasPrefix(v, "m_") {
			w.ids[v]++
		}
	}
}

// isClaim says whether a command runs claim.lua: by its hash, or by its
// source when the node did not know the hash yet (go-redis answers a
// NOSCRIPT with EVAL, as on a cluster node no claim had reached).
func isClaim(name, script any) bool {
	switch name {
	case "evalsha":
		return script == scriptClaim.Hash()
	case "eval":
		src, _ := script.(string)
		return fmt.Sprintf("%x", sha1.Sum([]byte(src))) == scriptClaim.Hash()
	}
	return false
}

func (w *claimWatch) claims(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ids[id]
}

func waitWorkers(t *testing.T, e *env) {
	eventually(t, "the outbox loop running", func() bool {
		e.svc.workers.mu.Lock()
		defer e.svc.workers.mu.Unlock()
		return e.svc.workers.ctx != nil
	})
}

// A reply written while a send worker is free is claimed by the script
// that writes it and sent at once: no claim hands it out.
func TestAReplyIsClaimedAsItIsWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(p *Params) { p.Outbox.Poll = time.Hour })
	ctx := context.Background()
	r := openConv(t, e)
	w := &claimWatch{}
	e.rdb.AddHook(w)
	e.run(t)
	// While the loop's claim is out, it holds every free worker, and a
	// reply written then waits for the loop. Its first claim is at start;
	// with an hour between polls there is no other.
	eventually(t, "the outbox loop's first claim back", func() bool {
		w.mu.Lock()
		calls := w.calls
		w.mu.Unlock()
		e.svc.workers.mu.Lock()
		defer e.svc.workers.mu.Unlock()
		return calls > 0 && e.svc.workers.busy == 0
	})
	en, err := e.svc.Reply(ctx, r.ConversationID, "ana", "On its way.", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := waitStatus(t, e, en.MessageID, "queued")
	sent := e.sender.sent()
	if len(sent) != 1 || sent[0].MessageID != en.MessageID || sent[0].Attempt != 1 || sent[0].To != "+14155550101" ||
		sent[0].From != "+14155550000" || sent[0].ConversationID != r.ConversationID || sent[0].Text != "On its way." {
		t.Fatalf("sent %+v", sent)
	}
	if m.Attempts != 1 {
		t.Fatalf("attempts %d, want 1", m.Attempts)
	}
	if n := w.claims(en.MessageID); n != 0 {
		t.Fatalf("claimed %d times by the outbox loop; want it claimed as written", n)
	}
}

// With every send worker busy, a reply waits in the outbox and the loop
// claims it when a worker is free; the one in the worker is not disturbed.
func TestAReplyWaitsInTheOutboxWhileEveryWorkerIsBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(p *Params) {
		p.Outbox.Workers = 1
		p.Outbox.SendTimeout = 5 * time.Second
		p.Outbox.Lease = 10 * time.Second
	})
	release := make(chan struct{})
	e.sender.script = []func(channel.Outbound) (channel.SendResult, error){
		func(out channel.Outbound) (channel.SendResult, error) {
			<-release
			return channel.SendResult{ProviderID: "SM" + out.MessageID, Status: "queued"}, nil
		},
	}
	ctx := context.Background()
	a := openConv(t, e)
	b, err := e.svc.Receive(ctx, sms("+14155550102", "hello", "SM-in-2"))
	if err != nil {
		t.Fatal(err)
	}
	w := &claimWatch{}
	e.rdb.AddHook(w)
	e.run(t)
	waitWorkers(t, e)
	first, err := e.svc.Reply(ctx, a.ConversationID, "ana", "first", nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first reply in the worker", func() bool { return len(e.sender.sent()) == 1 })
	second, err := e.svc.Reply(ctx, b.ConversationID, "ana", "second", nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // five polls of the loop
	if m, err := e.svc.Message(ctx, second.MessageID); err != nil || m.Status != "pending" || m.Attempts != 0 {
		t.Fatalf("second reply while the worker is busy: %+v, %v; want pending, not attempted", m, err)
	}
	close(release)
	waitStatus(t, e, first.MessageID, "queued")
	waitStatus(t, e, second.MessageID, "queued")
	if n := w.claims(second.MessageID); n != 1 {
		t.Fatalf("second reply claimed %d times by the loop; want 1", n)
	}
}

// The send workers belong to one Run: a second Run on the Service is
// refused instead of sharing (and stopping) them.
func TestASecondRunIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.run(t)
	waitWorkers(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := e.svc.Run(ctx); err == nil {
		t.Fatal("a second Run ran")
	}
}

// A send mostly waits on the provider, so by default a process has many
// under way at once: twenty replies waiting on a slow provider are all
// being sent together (four were, before).
func TestManySendsAreUnderWayAtOnceByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(p *Params) {
		p.Outbox.Workers = 0
		// Long enough that no lease lapses and no message is sent twice.
		p.Outbox.SendTimeout = 10 * time.Second
		p.Outbox.Lease = 20 * time.Second
	})
	const n = 20
	release := make(chan struct{})
	var mu sync.Mutex
	inFlight := map[string]bool{} // by message
	slow := func(out channel.Outbound) (channel.SendResult, error) {
		mu.Lock()
		inFlight[out.MessageID] = true
		mu.Unlock()
		<-release
		return channel.SendResult{ProviderID: "SM" + out.MessageID, Status: "queued"}, nil
	}
	for range n {
		e.sender.script = append(e.sender.script, slow)
	}
	ctx := context.Background()
	e.run(t)
	waitWorkers(t, e)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	var ids []string
	for _, conv := range openConvs(t, e, n, 100) {
		en, err := e.svc.Reply(ctx, conv, "ana", "On its way.", nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, en.MessageID)
	}
	eventually(t, "every reply being sent at once", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(inFlight) == n
	})
	close(release)
	for _, id := range ids {
		waitStatus(t, e, id, "queued")
	}
}

// replyWith opens a conversation, runs the outbox, and has an agent reply
// on it, the sender answering its first sends with script.
func replyWith(t *testing.T, e *env, script ...func(channel.Outbound) (channel.SendResult, error)) (channel.Receipt, Entry) {
	t.Helper()
	e.sender.script = script
	r := openConv(t, e)
	e.run(t)
	en, err := e.svc.Reply(context.Background(), r.ConversationID, "ana", "on it", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, en
}

// busy is a send the provider turned away unsent (a 429).
func busy(channel.Outbound) (channel.SendResult, error) {
	return channel.SendResult{}, fmt.Errorf("twilio 429: %w", &channel.BusyError{RetryAfter: 5 * time.Millisecond, Reason: "too many requests"})
}

func TestABusyProviderPutsAReplyOffWithoutUsingItsAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(p *Params) { p.Outbox.MaxAttempts = 2 })
	ctx := context.Background()
	r, en := replyWith(t, e, busy, busy, busy, busy, busy)
	// Five busy answers against two attempts: counted as attempts, they
	// would have failed the reply for good.
	m := waitStatus(t, e, en.MessageID, "queued")
	if m.Attempts != 1 || m.Deferrals != 5 || m.ErrorText != "" {
		t.Fatalf("message = %+v", m)
	}
	if calls := e.sender.sent(); len(calls) != 6 {
		t.Fatalf("%d sends, want 6", len(calls))
	}
	// Being put off is nobody's news: the transcript shows the send alone,
	// as the first attempt.
	tr, _ := e.svc.Transcript(ctx, r.ConversationID, "", 0)
	var statuses []string
	for _, x := range tr {
		if x.Type == EntryStatus {
			statuses = append(statuses, fmt.Sprintf("%s@%d", x.Status, x.Attempt))
		}
	}
	if strings.Join(statuses, ",") != "queued@1" {
		t.Fatalf("status entries = %v", statuses)
	}
}

func TestAReplyBusyForTooLongCountsItsAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(p *Params) {
		p.Outbox.MaxAttempts = 2
		p.Outbox.MaxBusyWait = time.Millisecond
	})
	_, en := replyWith(t, e, busy, busy, busy, busy, busy)
	// The first busy answer puts it off; the next two, past MaxBusyWait,
	// are its two attempts.
	m := waitStatus(t, e, en.MessageID, "failed")
	if m.Attempts != 2 || m.Deferrals != 1 || m.ErrorCode != "attempts" || !strings.Contains(m.ErrorText, "too many requests") {
		t.Fatalf("message = %+v", m)
	}
	if calls := e.sender.sent(); len(calls) != 3 {
		t.Fatalf("%d sends, want 3", len(calls))
	}
}

// A reply put off comes back when its sender asked, not when the claim's
// lease lapses, and it shows no error code from an earlier attempt.
func TestAReplyPutOffComesBackWhenItsSenderAsked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(p *Params) { p.Outbox.MaxBackoff = 5 * time.Second })
	later := func(channel.Outbound) (channel.SendResult, error) {
		return channel.SendResult{}, &channel.BusyError{RetryAfter: 2 * time.Second, Reason: "all 1 messages with Twilio are in use"}
	}
	ctx := context.Background()
	_, en := replyWith(t, e, later)
	var m Message
	eventually(t, "the reply put off", func() bool {
		m, _ = e.svc.Message(ctx, en.MessageID)
		return m.Deferrals == 1
	})
	score, err := e.rdb.ZScore(ctx, e.svc.k.outbox(), en.MessageID).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The lease is 400 ms here; the sender asked for 2 s, plus up to 20%.
	if in := time.Until(time.UnixMilli(int64(score))); in < 1500*time.Millisecond || in > 2500*time.Millisecond {
		t.Fatalf("the reply comes back in %s, want about 2 s", in)
	}
	if m.Status != "pending" || m.Attempts != 0 || m.ErrorCode != "" || !strings.Contains(m.ErrorText, "in use") {
		t.Fatalf("message while put off = %+v", m)
	}
	waitStatus(t, e, en.MessageID, "queued")
}
