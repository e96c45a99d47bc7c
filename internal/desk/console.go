package desk

import (
	"context"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/routing"
)

// ensureAgent makes routing know the account as an agent, with the skills
// and queues of its account, the first time its console connects, so
// accounts added with `switchboard agent add` need no second step.
func (d *Desk) ensureAgent(ctx context.Context, agentID string) (auth.Account, error) {
	acct, err := d.auth.Account(ctx, agentID)
	if err != nil {
		return auth.Account{}, err
	}
	if _, err := d.engine.Agent(ctx, agentID); err == nil {
		// Known to routing (seeded from the configuration file, or created
		// at an earlier login): its capacity and limits stay as they are.
		return acct, nil
	}
	queues := acct.Queues
	if len(queues) > 0 {
		// An account may name queues the configuration no longer has;
		// routing refuses unknown ones, so keep the known.
		known := map[string]bool{}
		for _, q := range d.engine.Queues() {
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
	err = d.engine.UpsertAgent(ctx, routing.AgentConfig{ID: acct.ID, Name: acct.Name, Skills: acct.Skills, Queues: queues})
	d.forgetNames(acct.ID)
	return acct, err
}

// Snapshot returns everything who's console shows after (re)connecting.
func (d *Desk) Snapshot(ctx context.Context, who Actor) (Snapshot, error) {
	acct, err := d.ensureAgent(ctx, who.AccountID)
	if err != nil {
		return Snapshot{}, mapErr(err)
	}
	st, err := d.engine.Agent(ctx, who.AccountID)
	if err != nil {
		return Snapshot{}, mapErr(err)
	}
	snap := Snapshot{
		Agent:         Actor{AccountID: acct.ID, Name: acct.Name, Role: acct.Role},
		State:         AgentState{State: string(st.State), Reason: st.Reason, Since: st.Since},
		Offers:        []Offer{},
		Conversations: []Conversation{},
	}
	for _, id := range st.Conversations {
		rc, err := d.engine.Conversation(ctx, id)
		if err != nil {
			continue // finished between the two reads
		}
		conv, err := d.convs.Conversation(ctx, id)
		if err != nil {
			continue
		}
		switch rc.State {
		case routing.ConvOffered:
			snap.Offers = append(snap.Offers, d.offer(ctx, conv, nil, rc.OfferedAt, rc.Deadline))
		case routing.ConvActive:
			snap.Conversations = append(snap.Conversations, d.assigned(ctx, conv, nil))
		}
	}
	return snap, nil
}

// offer builds the console's view of an offer.
func (d *Desk) offer(ctx context.Context, conv conversation.Conversation, beside *conversation.Beside, offeredAt, deadline time.Time) Offer {
	b := d.besideOf(ctx, conv, beside, conv.Channel != channel.Voice)
	cust, custErr := b.Customer, b.CustomerErr
	o := Offer{
		ConversationID: conv.ID, Channel: string(conv.Channel), Queue: conv.Queue,
		Customer:  customerRefOf(conv, cust, custErr),
		OfferedAt: offeredAt, Deadline: deadline, Recovery: d.recoveryBanner(ctx, conv, cust, custErr),
	}
	if conv.Channel == channel.Voice {
		// A ringing call has no message to preview: the agent sees who
		// calls by what they came about before, on any channel. Their
		// summaries and this call's preview are read in one round trip.
		o.Earlier, o.Preview = d.pastContacts(ctx, conv.CustomerID, conv.ID, offerEarlier)
	} else {
		o.Preview = preview(b.LastCustomer)
	}
	return o
}

// besideLines is how many of the transcript's last entries an offer or an
// assignment reads: enough to find the last customer text and agent line.
const besideLines = 20

// besideOf is beside, or, when the change that rang the agent did not read
// it (nil), the customer and (with lines) the last entries read now, in one
// round trip.
func (d *Desk) besideOf(ctx context.Context, conv conversation.Conversation, beside *conversation.Beside, lines bool) conversation.Beside {
	if beside != nil {
		return *beside
	}
	var recent *conversation.RecentRead
	var also conversation.Along
	if lines {
		recent = d.convs.ReadRecent(conv.ID, besideLines)
		also = recent
	}
	var b conversation.Beside
	b.Customer, b.CustomerErr = d.convs.CustomerAlong(ctx, conv.CustomerID, also)
	if recent != nil {
		entries, _ := recent.Result(ctx) // no preview rather than no offer
		b.LastCustomer, b.LastSaid = conversation.LastLines(entries)
	}
	return b
}

// offerEarlier bounds the earlier conversations a voice offer names.
const offerEarlier = 3

// pastContacts are the customer's conversations other than exclude, newest
// first, at most limit; nil when the history cannot be read. preview is
// exclude's last customer text, read with the others' summaries in one
// round trip.
func (d *Desk) pastContacts(ctx context.Context, customerID, exclude string, limit int) (past []PastContact, preview string) {
	page, err := d.convs.History(ctx, customerID, 0, limit+1)
	if err != nil {
		return nil, d.lastCustomerText(ctx, exclude)
	}
	ids := []string{exclude}
	for _, c := range page.Conversations {
		if c.ID == exclude || len(past) == limit {
			continue
		}
		ids = append(ids, c.ID)
		past = append(past, PastContact{ConversationID: c.ID, Channel: string(c.Channel),
			Agent: c.AgentID, Disposition: c.Disposition, StartedAt: c.CreatedAt, ClosedAt: c.ClosedAt})
	}
	recent, err := d.convs.RecentOf(ctx, ids, 20)
	if err != nil {
		return past, ""
	}
	for i := range past {
		past[i].Summary = lastCustomerTextOf(recent[i+1])
	}
	return past, lastCustomerTextOf(recent[0])
}

func (d *Desk) assigned(ctx context.Context, conv conversation.Conversation, beside *conversation.Beside) Conversation {
	state := "active"
	if !conv.Open() {
		state = "closed"
	}
	b := d.besideOf(ctx, conv, beside, true)
	c := Conversation{ID: conv.ID, Channel: string(conv.Channel), Queue: conv.Queue,
		Customer: customerRefOf(conv, b.Customer, b.CustomerErr), State: state, UpdatedAt: conv.LastMessageAt,
		Recovery: d.recoveryBanner(ctx, conv, b.Customer, b.CustomerErr)}
	if e := b.LastSaid; e != nil {
		c.LastMessageID, c.LastText = e.ID, e.Text
	}
	return c
}

func (d *Desk) customerRef(ctx context.Context, conv conversation.Conversation) CustomerRef {
	cust, err := d.convs.Customer(ctx, conv.CustomerID)
	return customerRefOf(conv, cust, err)
}

// customerRefOf is customerRef with conv's customer already read (err:
// the read failed, and the conversation's address names them).
func customerRefOf(conv conversation.Conversation, cust conversation.Customer, err error) CustomerRef {
	name := conv.CustomerAddress
	if err == nil && cust.Name != "" {
		name = cust.Name
	}
	return CustomerRef{ID: conv.CustomerID, Name: name}
}

// CustomerName is the name a conversation's customer is shown by: the
// customer's name, else the address they wrote from. "" when unknown.
func (d *Desk) CustomerName(ctx context.Context, convID string) string {
	conv, err := d.convs.Conversation(ctx, convID)
	if err != nil {
		return ""
	}
	return d.customerRef(ctx, conv).Name
}

func (d *Desk) lastCustomerText(ctx context.Context, convID string) string {
	entries, err := d.convs.Recent(ctx, convID, 20)
	if err != nil {
		return ""
	}
	return lastCustomerTextOf(entries)
}

// lastCustomerTextOf is the last customer message among entries (oldest
// first) as a preview.
func lastCustomerTextOf(entries []conversation.Entry) string {
	customer, _ := conversation.LastLines(entries)
	return preview(customer)
}

// preview is a customer message cut to 140 characters; "" for none.
func preview(e *conversation.Entry) string {
	if e == nil {
		return ""
	}
	t := e.Text
	if r := []rune(t); len(r) > 140 {
		t = string(r[:140]) + "…"
	}
	return t
}

// names looks up display names once per request: a transcript names the
// same customer and the same few agents on every line.
type names struct {
	d     *Desk
	known map[string]string // customer or agent id -> display name
}

func (d *Desk) names() *names { return &names{d: d, known: map[string]string{}} }

func (n *names) customer(ctx context.Context, id string) string {
	if name, ok := n.known[id]; ok {
		return name
	}
	name := id
	if cust, err := n.d.convs.Customer(ctx, id); err == nil {
		name = customerLabel(cust)
	}
	n.known[id] = name
	return name
}

// customerLabel is how agents see a customer: their name, else the number
// or address they came from (a chat visitor without a name is "Visitor"),
// never the internal id.
func customerLabel(cust conversation.Customer) string {
	if cust.Name != "" {
		return cust.Name
	}
	for _, ident := range cust.Identities {
		kind, addr, _ := strings.Cut(ident, ":")
		if kind == string(channel.Chat) {
			return "Visitor"
		}
		if addr != "" {
			return addr
		}
	}
	return cust.ID
}

// shown is the agent's name as customers are told it (Desk.shownName).
func (n *names) shown(ctx context.Context, id string) string {
	key := "shown\x00" + id // apart from the full names of the same ids
	if name, ok := n.known[key]; ok {
		return name
	}
	name := n.d.shownName(ctx, id)
	n.known[key] = name
	return name
}

func (n *names) agent(ctx context.Context, id string) string {
	if id == autoAuthor {
		// The gateway's own notes (what an automatic reply told the
		// customer) name no agent: nothing to look up.
		return id
	}
	if name, ok := n.known[id]; ok {
		return name
	}
	name := n.d.agentName(ctx, id)
	n.known[id] = name
	return name
}

// message converts a transcript entry for the console: authors by name,
// and an agent reply with its current delivery status.
func (d *Desk) message(ctx context.Context, convID string, e conversation.Entry, nm *names) Message {
	m := toMessage(convID, e)
	switch e.Type {
	case conversation.EntryCustomer:
		if e.Customer != nil {
			m.Author = customerLabel(*e.Customer) // read by the receiving script
		} else {
			m.Author = nm.customer(ctx, e.Author)
		}
	case conversation.EntryAgent, conversation.EntryNote:
		m.Author = nm.agent(ctx, e.Author)
		if e.Type == conversation.EntryAgent && e.MessageID != "" {
			if msg, err := d.convs.Message(ctx, e.MessageID); err == nil {
				m.Status, m.Error = consoleStatus(msg.Status), msg.ErrorText
			}
		}
	}
	return m
}

// toMessage converts a transcript entry for the console.
func toMessage(convID string, e conversation.Entry) Message {
	kind := map[conversation.EntryType]string{
		conversation.EntryCustomer: KindCustomer,
		conversation.EntryAgent:    KindAgent,
		conversation.EntryNote:     KindNote,
	}[e.Type]
	if kind == "" {
		kind = KindSystem
	}
	m := Message{ID: e.ID, ConversationID: convID, Kind: kind, Author: e.Author, Text: e.Text, At: e.At}
	for _, a := range e.Attachments {
		m.Attachments = append(m.Attachments, MessageFile{Name: a.Name, ContentType: a.ContentType, Size: a.Size, Path: a.StoredPath})
	}
	if kind == KindSystem && m.Text == "" {
		m.Text = e.Event
		if e.Event == "enqueued" {
			m.Text = "waiting in queue " + e.Queue
		}
	}
	if e.Type == conversation.EntryAgent {
		m.Status = StatusQueued
	}
	return m
}

// consoleStatus maps the outbox's and providers' words onto the four the
// console shows.
func consoleStatus(s string) string {
	switch s {
	case "delivered", "read":
		return StatusDelivered
	case "sent", "sending", "accepted", "scheduled":
		return StatusSent
	case "failed", "undelivered", "canceled":
		return StatusFailed
	}
	return StatusQueued
}

// CustomerPanel returns the customer of the conversation with their
// earlier conversations on every channel, as the console's panel shows it.
func (d *Desk) CustomerPanel(ctx context.Context, who Actor, convID string) (CustomerView, error) {
	a, err := d.authorize(ctx, who, See, convID)
	if err != nil {
		return CustomerView{}, err
	}
	conv := a.conv
	cust, err := d.convs.Customer(ctx, conv.CustomerID)
	if err != nil {
		return CustomerView{}, mapErr(err)
	}
	v := CustomerView{ID: cust.ID, Name: cust.Name, Tags: cust.Tags, Addresses: []Address{}, Fields: []Field{}, History: []PastContact{}}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	for _, ident := range cust.Identities {
		kind, addr, _ := strings.Cut(ident, ":")
		v.Addresses = append(v.Addresses, Address{Channel: kind, Value: addr})
	}
	if cust.Notes != "" {
		v.Fields = append(v.Fields, Field{Label: "Notes", Value: cust.Notes})
	}
	if !cust.CreatedAt.IsZero() {
		v.Fields = append(v.Fields, Field{Label: "Customer since", Value: cust.CreatedAt.Format("2 Jan 2006")})
	}
	past, _ := d.pastContacts(ctx, cust.ID, conv.ID, 50)
	v.History = append(v.History, past...)
	return v, nil
}
