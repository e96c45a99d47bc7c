// Package fakebackend is an in-memory agentui.Backend with a few demo
// accounts, customers and canned replies. It publishes the same frames the
// real wiring publishes, on a real realtime.Hub, so the console and its
// browser tests run before (and without) routing and the conversation
// service. It also serves the login endpoints the console calls and a small
// control API (/_fake/...) through which a test plays the customers.
//
// It is for tests and demos only: one process, no persistence, no limits.
package fakebackend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/realtime"
)

// Account is a demo login.
type Account struct {
	ID, Name, Role, Password string
	// Queues are the queues the agent serves.
	Queues []string
}

// Accounts are the demo logins.
var Accounts = []Account{
	{ID: "ana", Name: "Ana Lima", Role: "agent", Password: "ana-password", Queues: []string{"support", "sales"}},
	{ID: "ben", Name: "Ben Okafor", Role: "agent", Password: "ben-password", Queues: []string{"support", "sales"}},
}

type conv struct {
	id, channel, queue string
	customer           desk.CustomerRef
	state              string // waiting, offered, active, closed
	agent              string
	offeredTo          string
	deadline           time.Time
	disposition        string
	target             string              // the only agent to offer to ("" any)
	declined           map[string]struct{} // agents who declined: not offered again
	msgs               []desk.Message
	unread             int
	started            time.Time
	timer              *time.Timer
}

type customer struct {
	view desk.CustomerView
}

// Fake is the in-memory backend. Its zero value is not usable; call New.
type Fake struct {
	hub *realtime.Hub
	// OfferTimeout is how long an offer stays open. Zero: 30 s.
	OfferTimeout time.Duration
	// StatusDelay paces the fake delivery statuses of replies. Zero: 400 ms.
	StatusDelay time.Duration

	mu        sync.Mutex
	seq       int
	states    map[string]desk.AgentState
	convs     map[string]*conv
	customers map[string]*customer
	sessions  map[string]string // session token -> account id
	csrf      map[string]string // session token -> csrf token
}

// New builds a Fake that publishes on hub.
func New(hub *realtime.Hub) *Fake {
	f := &Fake{
		hub:       hub,
		states:    make(map[string]desk.AgentState),
		convs:     make(map[string]*conv),
		customers: make(map[string]*customer),
		sessions:  make(map[string]string),
		csrf:      make(map[string]string),
	}
	now := time.Now().UTC()
	for _, a := range Accounts {
		f.states[a.ID] = desk.AgentState{State: desk.StateOffline, Since: now}
	}
	f.seedCustomers(now)
	return f
}

func (f *Fake) offerTimeout() time.Duration {
	if f.OfferTimeout > 0 {
		return f.OfferTimeout
	}
	return 30 * time.Second
}

func (f *Fake) statusDelay() time.Duration {
	if f.StatusDelay > 0 {
		return f.StatusDelay
	}
	return 400 * time.Millisecond
}

func (f *Fake) seedCustomers(now time.Time) {
	day := 24 * time.Hour
	f.customers["maria"] = &customer{desk.CustomerView{
		ID: "maria", Name: "Maria Svensson", Tags: []string{"vip", "returning"},
		Addresses: []desk.Address{{Channel: "sms", Value: "+46 70 123 45 67"}, {Channel: "email", Value: "maria@example.com"}},
		Fields:    []desk.Field{{Label: "Plan", Value: "Business"}, {Label: "Customer since", Value: "March 2023"}},
		History: []desk.PastContact{
			{ConversationID: "old-1", Channel: "email", Agent: "Ben Okafor", Disposition: "resolved",
				Summary: "Invoice sent twice; credited the duplicate.", StartedAt: now.Add(-12 * day), ClosedAt: now.Add(-12*day + 40*time.Minute)},
			{ConversationID: "old-2", Channel: "voice", Agent: "Ana Lima", Disposition: "resolved",
				Summary: "Set up the second office line.", StartedAt: now.Add(-40 * day), ClosedAt: now.Add(-40*day + 12*time.Minute)},
		},
	}}
}

func (f *Fake) nextID(prefix string) string {
	f.seq++
	return prefix + strconv.Itoa(f.seq)
}

// msgID mimics a Redis stream id: milliseconds-sequence, ordered.
func (f *Fake) msgID(now time.Time) string {
	f.seq++
	return strconv.FormatInt(now.UnixMilli(), 10) + "-" + strconv.Itoa(f.seq)
}

func (f *Fake) publish(topic string, frame []byte) {
	// Delivery is best effort, as with the real wiring; the console resumes.
	_ = f.hub.Publish(context.Background(), topic, frame)
}

func (f *Fake) summary(c *conv) desk.Conversation {
	s := desk.Conversation{ID: c.id, Channel: c.channel, Queue: c.queue, Customer: c.customer,
		State: c.state, Unread: c.unread, UpdatedAt: c.started}
	if c.state != "closed" {
		s.State = "active"
	} else {
		s.State = "closed"
	}
	if n := len(c.msgs); n > 0 {
		s.LastMessageID, s.LastText, s.UpdatedAt = c.msgs[n-1].ID, c.msgs[n-1].Text, c.msgs[n-1].At
	}
	return s
}

func (f *Fake) offer(c *conv) desk.Offer {
	o := desk.Offer{ConversationID: c.id, Channel: c.channel, Queue: c.queue, Customer: c.customer,
		OfferedAt: c.deadline.Add(-f.offerTimeout()), Deadline: c.deadline}
	for i := len(c.msgs) - 1; i >= 0; i-- {
		if c.msgs[i].Kind == desk.KindCustomer {
			o.Preview = c.msgs[i].Text
			if r := []rune(o.Preview); len(r) > 140 {
				o.Preview = string(r[:140]) + "…"
			}
			break
		}
	}
	if cust, ok := f.customers[c.customer.ID]; ok && c.channel == "voice" {
		// As the desk does: a call names what the caller came about before.
		o.Earlier = cust.view.History[:min(3, len(cust.view.History))]
	}
	return o
}

// Inbound plays a customer writing: it appends text to the customer's open
// conversation on channel, or opens one and offers it to an available
// agent, only to agent when that is set (as routing's sticky last agent
// would), so that tests know whose console rings. It returns the
// conversation id.
func (f *Fake) Inbound(channel, customerName, text, agent string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().UTC()
	custID := strings.ToLower(strings.Fields(customerName + " x")[0])
	var c *conv
	for _, x := range f.convs {
		if x.customer.Name == customerName && x.channel == channel && x.state != "closed" {
			c = x
		}
	}
	if c == nil {
		c = &conv{id: f.nextID("c"), channel: channel, queue: "support",
			customer: desk.CustomerRef{ID: custID, Name: customerName}, state: "waiting", started: now,
			target: agent, declined: make(map[string]struct{})}
		f.convs[c.id] = c
		if _, ok := f.customers[custID]; !ok {
			f.customers[custID] = &customer{desk.CustomerView{ID: custID, Name: customerName}}
		}
	}
	m := desk.Message{ID: f.msgID(now), ConversationID: c.id, Kind: desk.KindCustomer,
		Author: customerName, Text: text, At: now}
	c.msgs = append(c.msgs, m)
	if c.state == "active" {
		c.unread++
	}
	f.publish(agentui.ConvTopic(c.id), agentui.TypingFrame(c.id, "customer", customerName, false))
	f.publish(agentui.ConvTopic(c.id), agentui.MessageFrame(m))
	if c.state == "waiting" {
		f.route()
	}
	return c.id
}

// CustomerTyping plays the customer of conv starting or stopping to type.
func (f *Fake) CustomerTyping(convID string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.convs[convID]
	if !ok {
		return desk.ErrNotFound
	}
	f.publish(agentui.ConvTopic(c.id), agentui.TypingFrame(c.id, "customer", c.customer.Name, on))
	return nil
}

// CustomerLeaves plays the customer ending the chat.
func (f *Fake) CustomerLeaves(convID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.convs[convID]
	if !ok {
		return desk.ErrNotFound
	}
	c.state = "closed"
	f.publish(agentui.ConvTopic(c.id), agentui.ConversationClosedFrame(c.id, "customer", "", time.Now()))
	return nil
}

// route offers each waiting conversation to the available agent with the
// fewest conversations; f.mu is held.
func (f *Fake) route() {
	ids := make([]string, 0, len(f.convs))
	for id := range f.convs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := f.convs[id]
		if c.state != "waiting" {
			continue
		}
		best, load := "", 1<<30
		for _, a := range Accounts {
			if !f.eligible(c, a) {
				continue
			}
			n := 0
			for _, x := range f.convs {
				if (x.agent == a.ID && x.state == "active") || x.offeredTo == a.ID {
					n++
				}
			}
			if n < load {
				best, load = a.ID, n
			}
		}
		if best == "" {
			continue
		}
		c.state, c.offeredTo, c.deadline = "offered", best, time.Now().UTC().Add(f.offerTimeout())
		agent, cid := best, c.id
		c.timer = time.AfterFunc(f.offerTimeout(), func() { f.expire(cid, agent) })
		f.publish(agentui.AgentTopic(best), agentui.OfferFrame(f.offer(c)))
	}
}

// eligible reports whether conversation c may be offered to agent a;
// f.mu is held.
func (f *Fake) eligible(c *conv, a Account) bool {
	if f.states[a.ID].State != desk.StateAvailable {
		return false
	}
	if c.target != "" && c.target != a.ID {
		return false
	}
	if _, no := c.declined[a.ID]; no {
		return false
	}
	for _, q := range a.Queues {
		if q == c.queue {
			return true
		}
	}
	return false
}

func (f *Fake) expire(convID, agent string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.convs[convID]
	if c == nil || c.state != "offered" || c.offeredTo != agent {
		return
	}
	c.state, c.offeredTo = "waiting", ""
	f.publish(agentui.AgentTopic(agent), agentui.OfferRevokedFrame(convID, agentui.RevokedTimeout))
	f.route()
}

// Messages returns a copy of conv's transcript, for test assertions.
func (f *Fake) Messages(convID string) []desk.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.convs[convID]
	if !ok {
		return nil
	}
	return append([]desk.Message(nil), c.msgs...)
}

// ConvState returns conv's state and disposition, for test assertions.
func (f *Fake) ConvState(convID string) (state, agent, disposition string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.convs[convID]
	if !ok {
		return "", "", ""
	}
	return c.state, c.agent, c.disposition
}

// access returns conv when agentID may see it; f.mu is held.
func (f *Fake) access(agentID, convID string) (*conv, error) {
	c, ok := f.convs[convID]
	if !ok {
		return nil, fmt.Errorf("fake: conversation %s: %w", convID, desk.ErrNotFound)
	}
	if c.agent != agentID && c.offeredTo != agentID {
		return nil, fmt.Errorf("fake: conversation %s: %w", convID, desk.ErrForbidden)
	}
	return c, nil
}

// Snapshot implements agentui.Backend.
func (f *Fake) Snapshot(_ context.Context, who desk.Actor) (desk.Snapshot, error) {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	s := desk.Snapshot{State: f.states[agentID]}
	for _, a := range Accounts {
		if a.ID == agentID {
			s.Agent = desk.Actor{AccountID: a.ID, Name: a.Name, Role: auth.Role(a.Role)}
		}
	}
	ids := make([]string, 0, len(f.convs))
	for id := range f.convs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := f.convs[id]
		switch {
		case c.state == "offered" && c.offeredTo == agentID:
			s.Offers = append(s.Offers, f.offer(c))
		case c.agent == agentID && (c.state == "active" || (c.state == "closed" && c.disposition == "")):
			s.Conversations = append(s.Conversations, f.summary(c))
		}
	}
	return s, nil
}

// SetState implements agentui.Backend.
func (f *Fake) SetState(_ context.Context, who desk.Actor, state, reason string) error {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	st := desk.AgentState{State: state, Reason: reason, Since: time.Now().UTC()}
	f.states[agentID] = st
	f.publish(agentui.AgentTopic(agentID), agentui.StateFrame(st))
	if state == desk.StateAvailable {
		f.route()
	}
	return nil
}

// Heartbeat implements agentui.Backend.
func (f *Fake) Heartbeat(context.Context, desk.Actor) error { return nil }

// Accept implements agentui.Backend.
func (f *Fake) Accept(_ context.Context, who desk.Actor, convID string) error {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.access(agentID, convID)
	if err != nil {
		return err
	}
	if c.state != "offered" || c.offeredTo != agentID {
		return desk.ErrOfferGone
	}
	c.timer.Stop()
	c.state, c.agent, c.offeredTo = "active", agentID, ""
	now := time.Now().UTC()
	name := agentID
	for _, a := range Accounts {
		if a.ID == agentID {
			name = a.Name
		}
	}
	sys := desk.Message{ID: f.msgID(now), ConversationID: c.id, Kind: desk.KindSystem,
		Author: "system", Text: name + " joined the conversation", At: now}
	c.msgs = append(c.msgs, sys)
	f.publish(agentui.AgentTopic(agentID), agentui.AssignedFrame(f.summary(c)))
	f.publish(agentui.ConvTopic(c.id), agentui.MessageFrame(sys))
	return nil
}

// Decline implements agentui.Backend.
func (f *Fake) Decline(_ context.Context, who desk.Actor, convID string) error {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.access(agentID, convID)
	if err != nil {
		return err
	}
	if c.state != "offered" || c.offeredTo != agentID {
		return desk.ErrOfferGone
	}
	c.timer.Stop()
	c.state, c.offeredTo, c.target = "waiting", "", ""
	// Never offer it to this agent again; someone else may take it.
	c.declined[agentID] = struct{}{}
	f.route()
	return nil
}

func (f *Fake) addAgentMessage(agentID, convID, kind, text string) (desk.Message, error) {
	c, err := f.access(agentID, convID)
	if err != nil {
		return desk.Message{}, err
	}
	if c.agent != agentID {
		return desk.Message{}, desk.ErrForbidden
	}
	if c.state == "closed" && kind == desk.KindAgent {
		return desk.Message{}, desk.ErrClosed
	}
	now := time.Now().UTC()
	author := agentID
	for _, a := range Accounts {
		if a.ID == agentID {
			author = a.Name
		}
	}
	m := desk.Message{ID: f.msgID(now), ConversationID: convID, Kind: kind, Author: author, Text: text, At: now}
	if kind == desk.KindAgent {
		m.Status = desk.StatusQueued
	}
	c.msgs = append(c.msgs, m)
	c.unread = 0
	f.publish(agentui.ConvTopic(convID), agentui.MessageFrame(m))
	if kind == desk.KindAgent {
		go f.deliver(convID, m.ID, strings.Contains(text, "#fail"))
	}
	return m, nil
}

// deliver plays the channel reporting delivery: sent, then delivered (or
// failed when the text asks for it, so the failure display can be seen).
func (f *Fake) deliver(convID, msgID string, fail bool) {
	steps := []string{desk.StatusSent, desk.StatusDelivered}
	if fail {
		steps = []string{desk.StatusFailed}
	}
	for _, st := range steps {
		time.Sleep(f.statusDelay())
		f.mu.Lock()
		c := f.convs[convID]
		errText := ""
		if st == desk.StatusFailed {
			errText = "The carrier rejected the message (unreachable number)."
		}
		for i := range c.msgs {
			if c.msgs[i].ID == msgID {
				c.msgs[i].Status, c.msgs[i].Error = st, errText
			}
		}
		f.publish(agentui.ConvTopic(convID), agentui.MessageStatusFrame(convID, msgID, st, errText))
		f.mu.Unlock()
	}
}

// Reply implements agentui.Backend.
func (f *Fake) Reply(_ context.Context, who desk.Actor, convID, text string) (desk.Message, error) {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addAgentMessage(agentID, convID, desk.KindAgent, text)
}

// Note implements agentui.Backend.
func (f *Fake) Note(_ context.Context, who desk.Actor, convID, text string) (desk.Message, error) {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addAgentMessage(agentID, convID, desk.KindNote, text)
}

// Close implements agentui.Backend.
func (f *Fake) Close(_ context.Context, who desk.Actor, convID, disposition string) error {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.access(agentID, convID)
	if err != nil {
		return err
	}
	if c.agent != agentID {
		return desk.ErrForbidden
	}
	if disposition == "" {
		disposition = "resolved"
	}
	wasOpen := c.state != "closed"
	c.state, c.disposition = "closed", disposition
	if wasOpen {
		f.publish(agentui.ConvTopic(convID), agentui.ConversationClosedFrame(convID, agentID, disposition, time.Now()))
	}
	f.route()
	return nil
}

// Transfer implements agentui.Backend.
func (f *Fake) Transfer(_ context.Context, who desk.Actor, convID, queue, toAgent string) error {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.access(agentID, convID)
	if err != nil {
		return err
	}
	if c.agent != agentID {
		return desk.ErrForbidden
	}
	c.agent, c.target = "", toAgent
	if queue != "" {
		c.queue = queue
	}
	c.state = "waiting"
	c.declined[agentID] = struct{}{}
	if toAgent != "" {
		c.state, c.offeredTo, c.deadline = "offered", toAgent, time.Now().UTC().Add(f.offerTimeout())
		cid := c.id
		c.timer = time.AfterFunc(f.offerTimeout(), func() { f.expire(cid, toAgent) })
		f.publish(agentui.AgentTopic(toAgent), agentui.OfferFrame(f.offer(c)))
		return nil
	}
	f.route()
	return nil
}

// Typing implements agentui.Backend; the fake has no customer to tell.
func (f *Fake) Typing(_ context.Context, who desk.Actor, convID string, _ bool) error {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.access(agentID, convID)
	return err
}

// Transcript implements agentui.Backend.
func (f *Fake) Transcript(_ context.Context, who desk.Actor, convID, afterID string, limit int) (desk.TranscriptPage, error) {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.access(agentID, convID)
	if err != nil {
		return desk.TranscriptPage{}, err
	}
	page := desk.TranscriptPage{Next: afterID}
	for _, m := range c.msgs {
		if afterID == "" || streamAfter(m.ID, afterID) {
			if limit > 0 && len(page.Messages) == limit {
				page.More = true
				break
			}
			page.Messages = append(page.Messages, m)
			page.Next = m.ID
		}
	}
	return page, nil
}

// streamAfter compares stream ids "ms-seq" numerically.
func streamAfter(id, after string) bool {
	parse := func(s string) (int64, int64) {
		a, b, _ := strings.Cut(s, "-")
		x, _ := strconv.ParseInt(a, 10, 64)
		y, _ := strconv.ParseInt(b, 10, 64)
		return x, y
	}
	i1, i2 := parse(id)
	a1, a2 := parse(after)
	return i1 > a1 || (i1 == a1 && i2 > a2)
}

// Customer implements agentui.Backend.
func (f *Fake) Customer(_ context.Context, who desk.Actor, convID string) (desk.CustomerView, error) {
	agentID := who.AccountID
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.access(agentID, convID)
	if err != nil {
		return desk.CustomerView{}, err
	}
	cu, ok := f.customers[c.customer.ID]
	if !ok {
		return desk.CustomerView{ID: c.customer.ID, Name: c.customer.Name}, nil
	}
	return cu.view, nil
}

// Queues implements agentui.Backend.
func (f *Fake) Queues(context.Context) ([]string, error) {
	return []string{"support", "billing", "sales"}, nil
}

// Agents implements agentui.Backend.
func (f *Fake) Agents(context.Context) ([]desk.AgentSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]desk.AgentSummary, 0, len(Accounts))
	for _, a := range Accounts {
		out = append(out, desk.AgentSummary{ID: a.ID, Name: a.Name, State: f.states[a.ID].State})
	}
	return out, nil
}

// CannedReplies implements agentui.Backend.
func (f *Fake) CannedReplies(context.Context) ([]desk.Canned, error) {
	return []desk.Canned{
		{Shortcut: "hello", Title: "Greeting", Text: "Hi, thanks for reaching out! I'm looking into this now."},
		{Shortcut: "refund", Title: "Refund on its way", Text: "I've issued the refund; it shows on your statement within 3–5 business days."},
		{Shortcut: "reset", Title: "Password reset", Text: "I've sent a password reset link to the email address on your account."},
		{Shortcut: "bye", Title: "Closing", Text: "Is there anything else I can help with today?"},
	}, nil
}

// Login checks a demo password and returns a session token and a CSRF
// token.
func (f *Fake) Login(id, password string) (desk.Actor, string, string, bool) {
	for _, a := range Accounts {
		if a.ID == id && a.Password == password {
			tok, csrf := randHex(), randHex()
			f.mu.Lock()
			f.sessions[tok], f.csrf[tok] = a.ID, csrf
			f.mu.Unlock()
			return desk.Actor{AccountID: a.ID, Name: a.Name, Role: auth.Role(a.Role)}, tok, csrf, true
		}
	}
	return desk.Actor{}, "", "", false
}

// Session returns the account and CSRF token of a session token.
func (f *Fake) Session(tok string) (desk.Actor, string, bool) {
	f.mu.Lock()
	id, ok := f.sessions[tok]
	csrf := f.csrf[tok]
	f.mu.Unlock()
	if !ok {
		return desk.Actor{}, "", false
	}
	for _, a := range Accounts {
		if a.ID == id {
			return desk.Actor{AccountID: a.ID, Name: a.Name, Role: auth.Role(a.Role)}, csrf, true
		}
	}
	return desk.Actor{}, "", false
}

// Logout ends a session.
func (f *Fake) Logout(tok string) {
	f.mu.Lock()
	delete(f.sessions, tok)
	delete(f.csrf, tok)
	f.mu.Unlock()
}

func randHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var _ agentui.Backend = (*Fake)(nil)
