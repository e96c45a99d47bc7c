package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/routing"
)

// consoleBackend implements agentui.Backend on routing and the conversation
// service. It is where "an agent sees only conversations offered or
// assigned to them" is enforced for the console.
type consoleBackend struct {
	engine *routing.Engine
	convs  *conversation.Service
	auth   *auth.Service
	chat   chatNotifier // nil when web chat is off
	canned []agentui.Canned
}

// chatNotifier is the part of the web chat channel the console drives.
type chatNotifier interface {
	AgentTyping(ctx context.Context, convID, agentName string, typing bool) error
}

func newCanned(list []config.CannedReply) []agentui.Canned {
	if len(list) == 0 {
		return []agentui.Canned{
			{Shortcut: "hello", Title: "Greeting", Text: "Hi, thanks for reaching out. I'm looking into this for you now."},
			{Shortcut: "moment", Title: "One moment", Text: "Thanks for waiting — give me a moment to check."},
			{Shortcut: "bye", Title: "Closing", Text: "Is there anything else I can help with? If not, have a great day."},
		}
	}
	out := make([]agentui.Canned, 0, len(list))
	for _, c := range list {
		out = append(out, agentui.Canned{Shortcut: c.Shortcut, Title: c.Title, Text: c.Text})
	}
	return out
}

// mapErr turns core errors into the ones the console tells apart.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, routing.ErrNotOffered), errors.Is(err, routing.ErrWrongState):
		return fmt.Errorf("%w: %v", agentui.ErrOfferGone, err)
	case errors.Is(err, routing.ErrNotAssigned):
		return fmt.Errorf("%w: %v", agentui.ErrForbidden, err)
	case errors.Is(err, conversation.ErrNotFound), errors.Is(err, routing.ErrNotFound), errors.Is(err, auth.ErrNotFound):
		return fmt.Errorf("%w: %v", agentui.ErrNotFound, err)
	case errors.Is(err, conversation.ErrClosed):
		return fmt.Errorf("%w: %v", agentui.ErrClosed, err)
	case errors.Is(err, conversation.ErrInvalid), errors.Is(err, routing.ErrInvalid),
		errors.Is(err, routing.ErrUnknownQueue), errors.Is(err, routing.ErrAgentUnavailable):
		return fmt.Errorf("%w: %v", agentui.ErrInvalid, err)
	}
	return err
}

// ensureAgent makes routing know the account as an agent, with the skills
// and queues of its account, the first time its console connects, so
// accounts added with `switchboard agent add` need no second step.
func (b *consoleBackend) ensureAgent(ctx context.Context, agentID string) (auth.Account, error) {
	acct, err := b.auth.Account(ctx, agentID)
	if err != nil {
		return auth.Account{}, err
	}
	if _, err := b.engine.Agent(ctx, agentID); err == nil {
		// Known to routing (seeded from the configuration file, or created
		// at an earlier login): its capacity and limits stay as they are.
		return acct, nil
	}
	queues := acct.Queues
	if len(queues) > 0 {
		// An account may name queues the configuration no longer has;
		// routing refuses unknown ones, so keep the known.
		known := map[string]bool{}
		for _, q := range b.engine.Queues() {
			known[q.Name] = true
		}
		var keep []string
		for _, q := range queues {
			if known[q] {
				keep = append(keep, q)
			}
		}
		queues = keep
	}
	err = b.engine.UpsertAgent(ctx, routing.AgentConfig{ID: acct.ID, Name: acct.Name, Skills: acct.Skills, Queues: queues})
	return acct, err
}

// holder says who holds the conversation and how. Routing decides offers
// and accepts atomically, so its state is the authority; the conversation
// record follows it through the event stream and may lag by a moment. Once
// routing has forgotten a finished conversation, the record is all there is.
func (b *consoleBackend) holder(ctx context.Context, conv conversation.Conversation) (agentID string, active bool) {
	if rc, err := b.engine.Conversation(ctx, conv.ID); err == nil {
		return rc.AgentID, rc.State == routing.ConvActive
	}
	return conv.AgentID, conv.State == conversation.StateActive
}

// mayOpen reports whether agentID may read the conversation: it is offered
// or assigned to them (or was, once it is over), or they supervise.
func (b *consoleBackend) mayOpen(ctx context.Context, agentID string, conv conversation.Conversation) bool {
	if holder, _ := b.holder(ctx, conv); holder == agentID || (!conv.Open() && conv.AgentID == agentID) {
		return true
	}
	acct, err := b.auth.Account(ctx, agentID)
	return err == nil && acct.Role.AtLeast(auth.RoleSupervisor)
}

func (b *consoleBackend) conversation(ctx context.Context, agentID, convID string) (conversation.Conversation, error) {
	conv, err := b.convs.Conversation(ctx, convID)
	if err != nil {
		return conversation.Conversation{}, mapErr(err)
	}
	if !b.mayOpen(ctx, agentID, conv) {
		return conversation.Conversation{}, fmt.Errorf("%w: conversation %s", agentui.ErrForbidden, convID)
	}
	return conv, nil
}

func (b *consoleBackend) Snapshot(ctx context.Context, agentID string) (agentui.Snapshot, error) {
	acct, err := b.ensureAgent(ctx, agentID)
	if err != nil {
		return agentui.Snapshot{}, mapErr(err)
	}
	st, err := b.engine.Agent(ctx, agentID)
	if err != nil {
		return agentui.Snapshot{}, mapErr(err)
	}
	snap := agentui.Snapshot{
		Agent:         agentui.Principal{AccountID: acct.ID, Name: acct.Name, Role: string(acct.Role)},
		State:         agentui.AgentState{State: string(st.State), Reason: st.Reason, Since: st.Since},
		Offers:        []agentui.Offer{},
		Conversations: []agentui.Conversation{},
	}
	for _, id := range st.Conversations {
		rc, err := b.engine.Conversation(ctx, id)
		if err != nil {
			continue // finished between the two reads
		}
		conv, err := b.convs.Conversation(ctx, id)
		if err != nil {
			continue
		}
		switch rc.State {
		case routing.ConvOffered:
			snap.Offers = append(snap.Offers, b.offer(ctx, conv, rc.OfferedAt, rc.Deadline))
		case routing.ConvActive:
			snap.Conversations = append(snap.Conversations, b.assigned(ctx, conv))
		}
	}
	return snap, nil
}

// offer builds the console's view of an offer.
func (b *consoleBackend) offer(ctx context.Context, conv conversation.Conversation, offeredAt, deadline time.Time) agentui.Offer {
	return agentui.Offer{
		ConversationID: conv.ID, Channel: string(conv.Channel), Queue: conv.Queue,
		Customer: b.customerRef(ctx, conv), Preview: b.lastCustomerText(ctx, conv.ID),
		OfferedAt: offeredAt, Deadline: deadline,
	}
}

func (b *consoleBackend) assigned(ctx context.Context, conv conversation.Conversation) agentui.Conversation {
	state := "active"
	if !conv.Open() {
		state = "closed"
	}
	c := agentui.Conversation{ID: conv.ID, Channel: string(conv.Channel), Queue: conv.Queue,
		Customer: b.customerRef(ctx, conv), State: state, UpdatedAt: conv.LastMessageAt}
	if entries, err := b.convs.Recent(ctx, conv.ID, 20); err == nil {
		for _, e := range entries {
			if e.Type == conversation.EntryCustomer || e.Type == conversation.EntryAgent {
				c.LastMessageID, c.LastText = e.ID, e.Text
			}
		}
	}
	return c
}

func (b *consoleBackend) customerRef(ctx context.Context, conv conversation.Conversation) agentui.CustomerRef {
	name := conv.CustomerAddress
	if cust, err := b.convs.Customer(ctx, conv.CustomerID); err == nil && cust.Name != "" {
		name = cust.Name
	}
	return agentui.CustomerRef{ID: conv.CustomerID, Name: name}
}

func (b *consoleBackend) lastCustomerText(ctx context.Context, convID string) string {
	entries, err := b.convs.Recent(ctx, convID, 20)
	if err != nil {
		return ""
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Type == conversation.EntryCustomer {
			t := entries[i].Text
			if r := []rune(t); len(r) > 140 {
				t = string(r[:140]) + "…"
			}
			return t
		}
	}
	return ""
}

func (b *consoleBackend) SetState(ctx context.Context, agentID, state, reason string) error {
	var st routing.AgentState
	switch state {
	case agentui.StateAvailable:
		st = routing.StateAvailable
	case agentui.StateAway:
		st = routing.StateAway
	case agentui.StateOffline:
		st = routing.StateOffline
	default:
		return fmt.Errorf("%w: state %q", agentui.ErrInvalid, state)
	}
	if _, err := b.ensureAgent(ctx, agentID); err != nil {
		return mapErr(err)
	}
	return mapErr(b.engine.SetAgentState(ctx, agentID, st, reason))
}

func (b *consoleBackend) Heartbeat(ctx context.Context, agentID string) error {
	return mapErr(b.engine.Heartbeat(ctx, agentID))
}

func (b *consoleBackend) Accept(ctx context.Context, agentID, convID string) error {
	return mapErr(b.engine.Accept(ctx, convID, agentID))
}

func (b *consoleBackend) Decline(ctx context.Context, agentID, convID string) error {
	return mapErr(b.engine.Decline(ctx, convID, agentID))
}

// active checks the conversation is assigned to agentID and open.
func (b *consoleBackend) active(ctx context.Context, agentID, convID string) (conversation.Conversation, error) {
	conv, err := b.conversation(ctx, agentID, convID)
	if err != nil {
		return conv, err
	}
	if !conv.Open() {
		return conv, fmt.Errorf("%w: conversation %s", agentui.ErrClosed, convID)
	}
	return conv, nil
}

func (b *consoleBackend) Reply(ctx context.Context, agentID, convID, text string) (agentui.Message, error) {
	conv, err := b.active(ctx, agentID, convID)
	if err != nil {
		return agentui.Message{}, err
	}
	if holder, active := b.holder(ctx, conv); holder != agentID || !active {
		return agentui.Message{}, fmt.Errorf("%w: accept the conversation before replying", agentui.ErrForbidden)
	}
	e, err := b.convs.Reply(ctx, convID, agentID, text, nil)
	if err != nil {
		return agentui.Message{}, mapErr(err)
	}
	return b.message(ctx, convID, e, b.names()), nil
}

func (b *consoleBackend) Note(ctx context.Context, agentID, convID, text string) (agentui.Message, error) {
	if _, err := b.conversation(ctx, agentID, convID); err != nil {
		return agentui.Message{}, err
	}
	e, err := b.convs.Note(ctx, convID, agentID, text)
	if err != nil {
		return agentui.Message{}, mapErr(err)
	}
	return b.message(ctx, convID, e, b.names()), nil
}

func (b *consoleBackend) Close(ctx context.Context, agentID, convID, disposition string) error {
	conv, err := b.conversation(ctx, agentID, convID)
	if err != nil {
		return err
	}
	if disposition == "" {
		disposition = "resolved"
	}
	closer := agentID
	if holder, active := b.holder(ctx, conv); holder != agentID {
		closer = "" // a supervisor closing someone else's conversation
	} else if !active {
		return fmt.Errorf("%w: accept or decline the offer; it is not yours to close", agentui.ErrForbidden)
	}
	_, err = b.convs.Close(ctx, convID, closer, disposition)
	return mapErr(err)
}

func (b *consoleBackend) Transfer(ctx context.Context, agentID, convID, queue, toAgent string) error {
	if _, err := b.active(ctx, agentID, convID); err != nil {
		return err
	}
	_, err := b.convs.Transfer(ctx, conversation.TransferRequest{ConversationID: convID, FromAgentID: agentID, ToQueue: queue, ToAgentID: toAgent})
	return mapErr(err)
}

func (b *consoleBackend) Typing(ctx context.Context, agentID, convID string, on bool) error {
	conv, err := b.active(ctx, agentID, convID)
	if err != nil {
		return err
	}
	if conv.Channel != conversation.ChannelChat || b.chat == nil {
		return nil
	}
	return b.chat.AgentTyping(ctx, convID, firstName(b.agentName(ctx, agentID)), on)
}

func (b *consoleBackend) Transcript(ctx context.Context, agentID, convID, afterID string) ([]agentui.Message, error) {
	if _, err := b.conversation(ctx, agentID, convID); err != nil {
		return nil, err
	}
	entries, err := b.convs.Transcript(ctx, convID, afterID, 1000)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]agentui.Message, 0, len(entries))
	nm := b.names()
	for _, e := range entries {
		if e.Type == conversation.EntryStatus {
			continue // message() reads the reply's current status instead
		}
		out = append(out, b.message(ctx, convID, e, nm))
	}
	return out, nil
}

// names looks up display names once per request: a transcript names the
// same customer and the same few agents on every line.
type names struct {
	b     *consoleBackend
	known map[string]string // customer or agent id -> display name
}

func (b *consoleBackend) names() *names { return &names{b: b, known: map[string]string{}} }

func (n *names) customer(ctx context.Context, id string) string {
	if name, ok := n.known[id]; ok {
		return name
	}
	name := id
	if cust, err := n.b.convs.Customer(ctx, id); err == nil && cust.Name != "" {
		name = cust.Name
	}
	n.known[id] = name
	return name
}

func (n *names) agent(ctx context.Context, id string) string {
	if name, ok := n.known[id]; ok {
		return name
	}
	name := n.b.agentName(ctx, id)
	n.known[id] = name
	return name
}

// message converts a transcript entry for the console: authors by name,
// and an agent reply with its current delivery status.
func (b *consoleBackend) message(ctx context.Context, convID string, e conversation.Entry, nm *names) agentui.Message {
	m := toMessage(convID, e)
	switch e.Type {
	case conversation.EntryCustomer:
		m.Author = nm.customer(ctx, e.Author)
	case conversation.EntryAgent, conversation.EntryNote:
		m.Author = nm.agent(ctx, e.Author)
		if e.Type == conversation.EntryAgent && e.MessageID != "" {
			if msg, err := b.convs.Message(ctx, e.MessageID); err == nil {
				m.Status, m.Error = consoleStatus(msg.Status), msg.ErrorText
			}
		}
	}
	return m
}

// toMessage converts a transcript entry for the console.
func toMessage(convID string, e conversation.Entry) agentui.Message {
	kind := map[conversation.EntryType]string{
		conversation.EntryCustomer: agentui.KindCustomer,
		conversation.EntryAgent:    agentui.KindAgent,
		conversation.EntryNote:     agentui.KindNote,
	}[e.Type]
	if kind == "" {
		kind = agentui.KindSystem
	}
	m := agentui.Message{ID: e.ID, ConversationID: convID, Kind: kind, Author: e.Author, Text: e.Text, At: e.At}
	if kind == agentui.KindSystem && m.Text == "" {
		m.Text = e.Event
		if e.Event == "enqueued" {
			m.Text = "waiting in queue " + e.Queue
		}
	}
	if e.Type == conversation.EntryAgent {
		m.Status = agentui.StatusQueued
	}
	return m
}

// consoleStatus maps the outbox's and providers' words onto the four the
// console shows.
func consoleStatus(s string) string {
	switch s {
	case "delivered", "read":
		return agentui.StatusDelivered
	case "sent", "sending", "accepted", "scheduled":
		return agentui.StatusSent
	case "failed", "undelivered", "canceled":
		return agentui.StatusFailed
	}
	return agentui.StatusQueued
}

func (b *consoleBackend) Customer(ctx context.Context, agentID, convID string) (agentui.CustomerView, error) {
	conv, err := b.conversation(ctx, agentID, convID)
	if err != nil {
		return agentui.CustomerView{}, err
	}
	cust, err := b.convs.Customer(ctx, conv.CustomerID)
	if err != nil {
		return agentui.CustomerView{}, mapErr(err)
	}
	v := agentui.CustomerView{ID: cust.ID, Name: cust.Name, Tags: cust.Tags, Addresses: []agentui.Address{}, Fields: []agentui.Field{}, History: []agentui.PastContact{}}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	for _, ident := range cust.Identities {
		kind, addr, _ := strings.Cut(ident, ":")
		v.Addresses = append(v.Addresses, agentui.Address{Channel: kind, Value: addr})
	}
	if cust.Notes != "" {
		v.Fields = append(v.Fields, agentui.Field{Label: "Notes", Value: cust.Notes})
	}
	if !cust.CreatedAt.IsZero() {
		v.Fields = append(v.Fields, agentui.Field{Label: "Customer since", Value: cust.CreatedAt.Format("2 Jan 2006")})
	}
	page, err := b.convs.History(ctx, cust.ID, 0, 50)
	if err == nil {
		for _, c := range page.Conversations {
			if c.ID == conv.ID {
				continue
			}
			v.History = append(v.History, agentui.PastContact{ConversationID: c.ID, Channel: string(c.Channel),
				Agent: c.AgentID, Disposition: c.Disposition, Summary: b.lastCustomerText(ctx, c.ID),
				StartedAt: c.CreatedAt, ClosedAt: c.ClosedAt})
		}
	}
	return v, nil
}

func (b *consoleBackend) Queues(context.Context) ([]string, error) {
	var out []string
	for _, q := range b.engine.Queues() {
		out = append(out, q.Name)
	}
	return out, nil
}

func (b *consoleBackend) Agents(ctx context.Context) ([]agentui.AgentSummary, error) {
	list, err := b.engine.Agents(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]agentui.AgentSummary, 0, len(list))
	for _, a := range list {
		out = append(out, agentui.AgentSummary{ID: a.ID, Name: a.Name, State: string(a.State)})
	}
	return out, nil
}

func (b *consoleBackend) CannedReplies(context.Context) ([]agentui.Canned, error) {
	return b.canned, nil
}

// agentName is an agent's display name as customers and colleagues see it:
// routing's (from the configuration file or the account at first login),
// else the account's, else the id.
func (b *consoleBackend) agentName(ctx context.Context, agentID string) string {
	if a, err := b.engine.Agent(ctx, agentID); err == nil && a.Name != "" {
		return a.Name
	}
	if acct, err := b.auth.Account(ctx, agentID); err == nil && acct.Name != "" {
		return acct.Name
	}
	return agentID
}

// firstName is what customers see of an agent: "Ana", not "Ana Lima".
func firstName(name string) string {
	if f, _, ok := strings.Cut(strings.TrimSpace(name), " "); ok {
		return f
	}
	return name
}

var _ agentui.Backend = (*consoleBackend)(nil)
