package webchat

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// fakeBackend plays the conversation service and routing for tests: it
// stores messages per conversation, deduplicates by provider id like the
// real service, and reports a configurable place in line.
type fakeBackend struct {
	mu            sync.Mutex
	seq           int
	convs         map[string]*fakeConv
	byVisitor     map[string]string // visitor -> latest conversation
	dedup         map[string]channel.Receipt
	inbound       []channel.Inbound
	typing        []bool
	ended         []string
	contacts      []string
	position      int // 0: not waiting
	positionReads int // Positions calls
	currentReads  int // Current calls
	estimate      [2]time.Duration
	estOK         bool
	failNext      error
	status        Status // what Availability answers
}

type fakeConv struct {
	id, visitor, queue, state, agent string
	msgs                             []Message
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{
		convs:     map[string]*fakeConv{},
		byVisitor: map[string]string{},
		dedup:     map[string]channel.Receipt{},
		position:  2,
		estimate:  [2]time.Duration{3 * time.Minute, 5 * time.Minute},
		estOK:     true,
		status:    Status{Open: true, AgentsOnline: 1},
	}
}

func (b *fakeBackend) Availability(context.Context, string) (Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status, nil
}

func (b *fakeBackend) next() int { b.seq++; return b.seq }

func (b *fakeBackend) Receive(_ context.Context, in channel.Inbound) (channel.Receipt, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.failNext; err != nil {
		b.failNext = nil
		return channel.Receipt{}, err
	}
	if rc, ok := b.dedup[in.ProviderID]; ok {
		rc.Duplicate = true
		rc.NewConversation = false
		return rc, nil
	}
	b.inbound = append(b.inbound, in)
	rc := channel.Receipt{CustomerID: "cu_" + in.From}
	c := b.convs[b.byVisitor[in.From]]
	if c == nil || c.state == StateClosed {
		c = &fakeConv{id: fmt.Sprintf("cv_%d", b.next()), visitor: in.From, queue: in.To, state: StateQueued}
		b.convs[c.id] = c
		b.byVisitor[in.From] = c.id
		rc.NewConversation = true
	}
	n := b.next()
	m := Message{ID: fmt.Sprintf("m_%d", n), Cursor: fmt.Sprintf("%d-0", n), From: FromCustomer,
		Text: in.Text, ProviderID: in.ProviderID, At: in.ReceivedAt}
	c.msgs = append(c.msgs, m)
	rc.ConversationID, rc.MessageID = c.id, m.ID
	b.dedup[in.ProviderID] = rc
	return rc, nil
}

// agentReply stores an agent's reply and returns the Outbound the outbox
// would hand the channel.
func (b *fakeBackend) agentReply(convID, agent, text string) channel.Outbound {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.convs[convID]
	n := b.next()
	m := Message{ID: fmt.Sprintf("m_%d", n), Cursor: fmt.Sprintf("%d-0", n), From: FromAgent, Name: agent, Text: text, At: time.Now()}
	c.msgs = append(c.msgs, m)
	return channel.Outbound{ConversationID: convID, MessageID: m.ID, Channel: channel.Chat,
		From: c.queue, To: c.visitor, Text: text, Attempt: 1}
}

func (b *fakeBackend) accept(convID, agent string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.convs[convID]
	c.state, c.agent = StateActive, agent
	b.position = 0
}

func (b *fakeBackend) Current(_ context.Context, visitorID string) (Session, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.currentReads++
	c := b.convs[b.byVisitor[visitorID]]
	if c == nil {
		return Session{}, false, nil
	}
	return Session{ConversationID: c.id, Queue: c.queue, State: c.state, AgentName: c.agent}, true, nil
}

func (b *fakeBackend) Messages(_ context.Context, convID, afterID string) ([]Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.convs[convID]
	if c == nil {
		return nil, nil
	}
	var out []Message
	for _, m := range c.msgs {
		if afterID == "" || cursorAfter(m.Cursor, afterID) {
			out = append(out, m)
		}
	}
	// One page at most 2 long, so the pager is exercised.
	if len(out) > 2 {
		out = out[:2]
	}
	return out, nil
}

func cursorAfter(a, b string) bool {
	var am, bm int
	fmt.Sscanf(a, "%d-", &am)
	fmt.Sscanf(b, "%d-", &bm)
	return am > bm
}

// CustomerEnded is channel.Core's: the visitor ended the chat.
func (b *fakeBackend) CustomerEnded(_ context.Context, convID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.convs[convID]; c != nil {
		c.state = StateClosed
	}
	b.ended = append(b.ended, convID)
	return nil
}

func (b *fakeBackend) Place(_ context.Context, convID string) (channel.Place, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.convs[convID]
	if c == nil || c.state != StateQueued || b.position == 0 {
		return channel.Place{}, nil
	}
	return channel.Place{Position: b.position, Low: b.estimate[0], High: b.estimate[1], Known: b.estOK}, nil
}

func (b *fakeBackend) Positions(_ context.Context, queue string) (map[string]int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.positionReads++
	out := map[string]int{}
	for id, c := range b.convs {
		if c.queue == queue && c.state == StateQueued && b.position != 0 {
			out[id] = b.position
		}
	}
	return out, nil
}

// FollowQueues has no routing to follow: the tests move queues with
// Server.QueueChanged.
func (b *fakeBackend) FollowQueues(ctx context.Context, _ func(convID, queue string)) error {
	<-ctx.Done()
	return nil
}

func (b *fakeBackend) Estimate(context.Context, string) (channel.Place, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return channel.Place{Low: b.estimate[0], High: b.estimate[1], Known: b.estOK}, nil
}

func (b *fakeBackend) UpdateDelivery(context.Context, channel.DeliveryStatus) error { return nil }
func (b *fakeBackend) Told(context.Context, string, string, channel.Place) error    { return nil }
func (b *fakeBackend) Answered(context.Context, string) (bool, error)               { return false, nil }
func (b *fakeBackend) Record(context.Context, string, string, string) error         { return nil }
func (b *fakeBackend) Abandon(context.Context, string) error                        { return nil }
func (b *fakeBackend) Missed(context.Context, string, string) error                 { return nil }

func (b *fakeBackend) CustomerTyping(_ context.Context, _ string, typing bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.typing = append(b.typing, typing)
	return nil
}

func (b *fakeBackend) SetContact(_ context.Context, customerID, name, email string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.contacts = append(b.contacts, customerID+"|"+name+"|"+email)
	return nil
}

func (b *fakeBackend) storedCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.inbound)
}

func (b *fakeBackend) lastInbound() channel.Inbound {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inbound[len(b.inbound)-1]
}

var _ channel.Core = (*fakeBackend)(nil)
