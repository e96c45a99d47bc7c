package voice

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
)

// fakeCore plays the conversation service and routing as channel.Core
// promises them: it deduplicates by provider id, keeps each queue ordered
// by priority then enqueue time, tells places from that order with a
// position-aware estimate, returns a missed conversation to its place
// with its original enqueue time, and records every call made to it.
type fakeCore struct {
	mu     sync.Mutex
	now    func() time.Time
	seq    int
	convs  map[string]*fakeConv
	seen   map[string]channel.Receipt
	queues map[string]string // our number → queue
	// handle and agents drive the estimate: place × handle ÷ agents.
	handle time.Duration
	agents int
	log    []string // "Receive conv-1", "Abandon conv-1", …
	told   []toldLine
	lines  []recordLine
	inbox  []channel.Inbound
}

type fakeConv struct {
	id, queue, customer string
	// state is waiting, accepted, abandoned or closed.
	state    string
	agent    string
	priority int
	enqueued time.Time
	misses   int
}

type toldLine struct {
	conv, text string
	place      channel.Place
}

type recordLine struct{ conv, event, text string }

func newFakeCore(now func() time.Time) *fakeCore {
	return &fakeCore{now: now, convs: map[string]*fakeConv{}, seen: map[string]channel.Receipt{},
		queues: map[string]string{}, handle: 2 * time.Minute, agents: 1}
}

func (f *fakeCore) note(format string, args ...any) {
	f.log = append(f.log, fmt.Sprintf(format, args...))
}

func (f *fakeCore) Receive(_ context.Context, in channel.Inbound) (channel.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := string(in.Channel) + "/" + in.ProviderID
	if r, ok := f.seen[key]; ok {
		r.Duplicate, r.NewConversation = true, false
		return r, nil
	}
	f.seq++
	id := fmt.Sprintf("conv-%d", f.seq)
	q := f.queues[in.To]
	if q == "" {
		q = "default"
	}
	f.convs[id] = &fakeConv{id: id, queue: q, customer: in.From, state: "waiting", enqueued: in.ReceivedAt}
	r := channel.Receipt{ConversationID: id, MessageID: "m" + id, CustomerID: "cust:" + in.From, NewConversation: true}
	f.seen[key] = r
	f.inbox = append(f.inbox, in)
	f.note("Receive %s", id)
	return r, nil
}

func (f *fakeCore) UpdateDelivery(context.Context, channel.DeliveryStatus) error { return nil }

// waitingOrder is queue q in routing's order.
func (f *fakeCore) waitingOrder(q string) []*fakeConv {
	var out []*fakeConv
	for _, c := range f.convs {
		if c.queue == q && c.state == "waiting" {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].priority != out[j].priority {
			return out[i].priority > out[j].priority
		}
		return out[i].enqueued.Before(out[j].enqueued)
	})
	return out
}

func (f *fakeCore) Place(_ context.Context, id string) (channel.Place, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.convs[id]
	if !ok {
		return channel.Place{}, channel.ErrNotFound
	}
	if c.state != "waiting" {
		return channel.Place{}, nil
	}
	for i, w := range f.waitingOrder(c.queue) {
		if w.id == id {
			return f.place(i + 1), nil
		}
	}
	return channel.Place{}, nil
}

func (f *fakeCore) place(pos int) channel.Place {
	if f.agents == 0 {
		return channel.Place{Position: pos}
	}
	per := f.handle / time.Duration(f.agents)
	return channel.Place{Position: pos, Low: time.Duration(pos-1) * per, High: time.Duration(pos) * per, Known: true}
}

func (f *fakeCore) Estimate(_ context.Context, q string) (channel.Place, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.place(len(f.waitingOrder(q)) + 1), nil
}

func (f *fakeCore) Told(_ context.Context, id, text string, p channel.Place) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.told = append(f.told, toldLine{id, text, p})
	return nil
}

func (f *fakeCore) Answered(context.Context, string) (bool, error) { return false, nil }

func (f *fakeCore) Record(_ context.Context, id, event, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, recordLine{id, event, text})
	return nil
}

func (f *fakeCore) Abandon(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note("Abandon %s", id)
	if c, ok := f.convs[id]; ok {
		c.state = "abandoned"
	}
	return nil
}

func (f *fakeCore) CustomerEnded(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note("CustomerEnded %s", id)
	if c, ok := f.convs[id]; ok {
		c.state = "closed"
	}
	return nil
}

func (f *fakeCore) Missed(_ context.Context, id, agent string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.convs[id]
	if !ok || c.state != "accepted" || c.agent != agent {
		return fmt.Errorf("missed %s by %s: not accepted by them", id, agent)
	}
	f.note("Missed %s %s", id, agent)
	c.state, c.agent = "waiting", ""
	c.misses++
	return nil
}

// accept is routing's accept: the event the channel observes.
func (f *fakeCore) accept(id, agent string) channel.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.convs[id]
	c.state, c.agent = "accepted", agent
	now := f.now()
	return channel.Event{Type: channel.EventAccepted, ConversationID: id, Channel: channel.Voice, Queue: c.queue,
		AgentID: agent, AgentName: "Agent " + agent, Wait: now.Sub(c.enqueued), At: now}
}

// arrive puts a conversation of another channel ahead or behind in q.
func (f *fakeCore) arrive(q string, priority int, at time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := fmt.Sprintf("other-%d", f.seq)
	f.convs[id] = &fakeConv{id: id, queue: q, state: "waiting", priority: priority, enqueued: at}
	return id
}

func (f *fakeCore) conv(id string) fakeConv {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.convs[id]
}

func (f *fakeCore) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeCore) toldTo(id string) []toldLine {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []toldLine
	for _, t := range f.told {
		if t.conv == id {
			out = append(out, t)
		}
	}
	return out
}

func (f *fakeCore) events(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.lines {
		if l.conv == id {
			out = append(out, l.event)
		}
	}
	return out
}

func (f *fakeCore) line(id, event string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.lines {
		if l.conv == id && l.event == event {
			return l.text
		}
	}
	return ""
}
