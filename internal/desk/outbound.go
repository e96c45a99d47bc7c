package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/routing"
)

// StartRequest is a conversation someone starts to a customer: an agent
// following up, a supervisor or an integration for an agent.
type StartRequest struct {
	// Channel the conversation runs on: sms or email (channels where we
	// may write first).
	Channel channel.Name `json:"channel"`
	// Address is the customer's address on Channel (E.164 number, email
	// address). Either it or CustomerID is required; it wins when both are
	// given.
	Address string `json:"address,omitempty"`
	// CustomerID names a known customer; their address on Channel is used.
	CustomerID string `json:"customer_id,omitempty"`
	// Queue the conversation belongs to. Empty: the queue of the channel's
	// first address (number, mailbox).
	Queue string `json:"queue,omitempty"`
	// AgentID holds the conversation. Empty: the one who asks (required
	// for integration tokens).
	AgentID string `json:"agent_id,omitempty"`
	// Text is the first message.
	Text string `json:"text"`
	// Subject of an email. Empty: the channel's default ("Message from"
	// the mailbox's name).
	Subject string `json:"subject,omitempty"`
}

// Startable says whether a channel can start conversations: it delivers
// replies and is one where we may write first (a phone call and a chat
// visitor cannot be reached this way).
func startable(ch channel.Name) bool { return ch == channel.SMS || ch == channel.Email }

// Start opens a conversation to a customer with a first message. The rule
// (DecideStart) says who may; the customer must be reachable on the
// channel (channel.Reachability: an SMS opt-out refuses it with
// ErrRefused); an integration's send is automated and so keeps to the
// queue's business hours, while a person's own send does not. The
// conversation is active with its agent at once, counted against their
// capacity, on their console; the message leaves through the outbox; the
// customer's reply lands in it; it is in the customer's history.
func (d *Desk) Start(ctx context.Context, who Actor, req StartRequest) (conversation.Conversation, error) {
	if !startable(req.Channel) {
		return conversation.Conversation{}, fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "channel",
			Reason: fmt.Sprintf("conversations can be started on sms and email, not %q", req.Channel)})
	}
	d.mu.RLock()
	ch := d.channels[req.Channel]
	d.mu.RUnlock()
	if ch == nil {
		return conversation.Conversation{}, fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "channel",
			Reason: string(req.Channel) + " is not configured on this gateway"})
	}
	ours, queue, err := d.startAddress(ch, req.Queue)
	if err != nil {
		return conversation.Conversation{}, err
	}
	agentID := req.AgentID
	if agentID == "" && !who.Token {
		agentID = who.AccountID
	}
	serves, err := d.servesStart(ctx, agentID, queue, req.Channel)
	if err != nil {
		return conversation.Conversation{}, err
	}
	if err := DecideStart(who, agentID, serves); err != nil {
		return conversation.Conversation{}, fmt.Errorf("desk: start: %w", err)
	}
	addr := strings.TrimSpace(req.Address)
	if addr == "" {
		if addr, err = d.customerAddress(ctx, who, req.CustomerID, req.Channel); err != nil {
			return conversation.Conversation{}, err
		}
	}
	if r, ok := ch.(channel.Reachability); ok {
		if err := r.MayContact(ctx, addr); err != nil {
			if errors.Is(err, channel.ErrOptedOut) {
				return conversation.Conversation{}, fmt.Errorf("%w: %w", ErrRefused, err)
			}
			return conversation.Conversation{}, fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "address", Reason: err.Error()})
		}
	}
	if who.Token {
		if err := d.quietHours(queue, time.Now()); err != nil {
			return conversation.Conversation{}, err
		}
	}
	st, err := d.convs.Start(ctx, conversation.StartRequest{Channel: req.Channel, CustomerAddress: addr, OurAddress: ours,
		Queue: queue, AgentID: agentID, Text: req.Text, Subject: strings.TrimSpace(req.Subject)})
	if err != nil {
		if errors.Is(err, routing.ErrAgentUnavailable) {
			return conversation.Conversation{}, fmt.Errorf("%w: %s has no free %s capacity: %w", ErrRefused, agentID, req.Channel, err)
		}
		return conversation.Conversation{}, mapErr(err)
	}
	// The agent's console shows it at once, on whichever gateway it is
	// connected to; routing's started event only repairs a lost record.
	d.consoles.Assigned(ctx, agentID, d.assigned(ctx, st.Conversation, nil))
	return st.Conversation, nil
}

// startAddress picks our address on the channel for queue: the first one
// whose conversations go to queue, else (queue "") the first one and its
// queue. A channel with one address (one number) serves every queue.
func (d *Desk) startAddress(ch channel.Channel, queue string) (ours, q string, err error) {
	addrs := ch.Addresses()
	if len(addrs) == 0 {
		return "", "", fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "channel",
			Reason: "no " + string(ch.Name()) + " address (number or mailbox) is configured to send from"})
	}
	for _, a := range addrs {
		if queue == "" || a.Queue == queue {
			q = a.Queue
			if queue != "" {
				q = queue
			}
			return a.Value, q, nil
		}
	}
	return addrs[0].Value, queue, nil
}

// servesStart reports whether agentID serves queue on ch: the queue is
// theirs (no list means all), they have every skill it asks for and some
// capacity on the channel. Their availability does not matter: reaching
// out is the agent's own choice.
func (d *Desk) servesStart(ctx context.Context, agentID, queue string, ch channel.Name) (bool, error) {
	if agentID == "" {
		return false, nil
	}
	var qc *routing.QueueConfig
	for _, c := range d.engine.Queues() {
		if c.Name == queue {
			qc = &c
			break
		}
	}
	if qc == nil {
		return false, fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "queue", Reason: "unknown queue " + queue})
	}
	a, err := d.engine.Agent(ctx, agentID)
	if errors.Is(err, routing.ErrNotFound) {
		if _, err := d.ensureAgent(ctx, agentID); err != nil {
			return false, fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "agent_id", Reason: "no such agent " + agentID})
		}
		a, err = d.engine.Agent(ctx, agentID)
	}
	if err != nil {
		return false, mapErr(err)
	}
	if a.Capacity[string(ch)] <= 0 || (len(a.Queues) > 0 && !slices.Contains(a.Queues, queue)) {
		return false, nil
	}
	for _, s := range qc.Skills {
		if !slices.Contains(a.Skills, s) {
			return false, nil
		}
	}
	return true, nil
}

// customerAddress is the customer's address on ch, if who may see the
// customer.
func (d *Desk) customerAddress(ctx context.Context, who Actor, customerID string, ch channel.Name) (string, error) {
	if customerID == "" {
		return "", fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "address", Reason: "an address or a customer_id is required"})
	}
	cust, err := d.authorizeCustomer(ctx, who, See, customerID)
	if err != nil {
		return "", err
	}
	kind := string(ch)
	if ch == channel.SMS {
		kind = "phone" // SMS and voice share the customer's number
	}
	for _, id := range cust.Identities {
		if a, ok := strings.CutPrefix(id, kind+":"); ok {
			return a, nil
		}
	}
	return "", fmt.Errorf("%w: %w", ErrInvalid, &conversation.FieldError{Field: "customer_id",
		Reason: "the customer has no " + string(ch) + " address"})
}

// quietHours refuses an automated send while queue is closed: a customer
// is not texted by a machine at night.
func (d *Desk) quietHours(queue string, now time.Time) error {
	if d.hours == nil {
		return nil
	}
	s := d.hours.Hours(queue)
	if s == nil || s.IsOpen(now) {
		return nil
	}
	when := "later"
	if open, ok := s.NextOpen(now); ok {
		when = s.Describe(now, open)
	}
	return fmt.Errorf("%w: automated sends keep to business hours: queue %s is closed now and opens %s", ErrRefused, queue, when)
}

// startRepairAfter is how long routing may hold a started conversation
// with no record before the desk lets it go.
const startRepairAfter = 10 * time.Second

// repairStart frees the agent's slot of a conversation routing started
// but the conversation service never stored (the gateway died in between,
// or storing failed and the rollback too). Normally the record exists, and
// Start has told the console already: nothing to do.
func (d *Desk) repairStart(ctx context.Context, ev routing.Event) error {
	if _, err := d.convs.Conversation(ctx, ev.ConversationID); !errors.Is(err, conversation.ErrNotFound) {
		return err
	}
	if time.Since(ev.At) < startRepairAfter {
		return routing.ErrRetryLater
	}
	d.log.Warn("desk: a started conversation was never stored; routing lets it go", "conv", ev.ConversationID, "agent", ev.AgentID)
	return ignoreGone(d.engine.Close(ctx, ev.ConversationID, ev.AgentID))
}
