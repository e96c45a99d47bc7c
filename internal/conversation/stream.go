package conversation

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/streamwork"
)

// Types of the events on the service's event stream (EventsKey). Each is
// written by the same script (or MULTI) that records the fact, so a fact
// is never stored without its event nor an event written for a fact that
// was not stored. Consumers in other processes (webhooks) read the stream
// through a consumer group; the names are those integrations see.
const (
	// EventMessageReceived: a customer's message was stored.
	// ConversationID, CustomerID, Channel, MessageID, EntryID, ProviderID,
	// NewConversation.
	EventMessageReceived = "message.received"
	// EventMessageSent: the channel's provider accepted an agent's
	// message. ConversationID, Channel, MessageID, EntryID, AgentID,
	// ProviderID, Status, Attempt.
	EventMessageSent = "message.sent"
	// EventMessageStatus: an agent's message changed its delivery state
	// (a provider's status callback, or sending failed for good).
	// ConversationID, Channel, MessageID, AgentID, ProviderID, Status,
	// ErrorCode, ErrorText.
	EventMessageStatus = "message.delivery_status"
	// EventCustomerCreated: a customer was created, by a first message or
	// an agent starting a conversation to a new address. CustomerID,
	// Channel, Address, Name; ConversationID when a conversation opened it.
	EventCustomerCreated = "customer.created"
	// EventCustomerUpdated: a customer's name, notes, tags or identities
	// changed. CustomerID, Changes.
	EventCustomerUpdated = "customer.updated"
	// EventCustomerMerged: customer MergedID became part of CustomerID.
	EventCustomerMerged = "customer.merged"
	// EventConversationClosed: the record was closed (state closed, not a
	// customer's abandon), by the same script that recorded the close.
	// ConversationID, CustomerID, Channel, Queue, By (who closed it: an
	// agent, a supervisor; empty for the customer, or for a close from the
	// queue recorded after its closer died), Disposition, and either
	// From (FromWaiting, FromOffered: closed from the queue before anyone
	// had it) with Wait (since it entered the queue or was reopened), or
	// AgentID (who had it, when known) with Handle (since the last accept,
	// when one is recorded since it was created or reopened).
	EventConversationClosed = "conversation.closed"
	// EventConversationStarted: an agent started the conversation to the
	// customer, and holds it (Start), written by the script that stores
	// it; a start refused or never stored writes none. ConversationID,
	// CustomerID, Channel, Queue, AgentID.
	EventConversationStarted = "conversation.started"
)

// Event is one entry of the service's event stream.
type Event struct {
	// ID is the stream id: stable, unique within the stream.
	ID             string
	Type           string
	At             time.Time
	ConversationID string
	CustomerID     string
	Channel        channel.Name
	MessageID      string
	// EntryID is the message's transcript entry (Entry loads it).
	EntryID    string
	AgentID    string
	ProviderID string
	Status     string
	ErrorCode  string
	ErrorText  string
	// Address is the identity a created customer came with; Name the name
	// they gave.
	Address, Name string
	// MergedID is the customer merged into CustomerID.
	MergedID string
	// Changes names what an update changed: name, notes, tags, identities.
	Changes []string
	// NewConversation: the received message opened its conversation.
	NewConversation bool
	Attempt         int
	// Queue, By, Disposition, From, Handle and Wait: of a close
	// (EventConversationClosed), which also carries the addresses and the
	// thread a message after it (a survey's question) goes by.
	Queue                                   string
	By                                      string
	Disposition                             string
	From                                    CloseFrom
	Handle, Wait                            time.Duration
	CustomerAddress, OurAddress, ThreadHint string
}

// EventsKey is the Redis stream of the service's events, capped at
// Params.EventsMaxLen, for consumers in other processes.
func (s *Service) EventsKey() string { return s.k.events() }

// consumeLinger is how long Consume's reader waits for more entries after
// a short read: its consumers act after a conversation, not within its
// milliseconds, so the stream is read in batches.
const consumeLinger = 25 * time.Millisecond

// Consume hands the service's events (EventsKey), decoded, to handle until
// ctx ends: each event to one of the processes that consume with the same
// group at a time, a conversation's in stream order, at least once. An
// error from handle, or its process dying, leaves the event to be handed
// out again after claimAfter (0: streamwork's default), while the stream
// still holds it (internal/streamwork).
func (s *Service) Consume(ctx context.Context, group, consumer string, claimAfter time.Duration, handle func(context.Context, Event) error) error {
	return streamwork.Run(ctx, streamwork.Params{Client: s.rdb, Group: group, Consumer: consumer, Log: s.log,
		ReadLinger: consumeLinger, ClaimAfter: claimAfter,
		Streams: []streamwork.Stream{{
			Name: s.k.events(),
			Key:  func(m redis.XMessage) string { return OrderKey(m.Values) },
			Handle: func(ctx context.Context, m redis.XMessage) error {
				return handle(ctx, EventFrom(m.ID, m.Values))
			},
		}}})
}

// OrderKey is what orders the stream's entries (field values as go-redis
// returns them) for a consumer: a customer's events by customer, the rest
// by conversation.
func OrderKey(v map[string]any) string {
	str := func(k string) string { s, _ := v[k].(string); return s }
	switch str("type") {
	case EventCustomerCreated, EventCustomerUpdated, EventCustomerMerged:
		return "customer:" + str("cust")
	}
	return str("conv")
}

// EventFrom decodes one stream entry (id and field values as go-redis
// returns them).
func EventFrom(id string, v map[string]any) Event {
	str := func(k string) string { s, _ := v[k].(string); return s }
	e := Event{
		ID: id, Type: str("type"), At: fromMS(str("at")),
		ConversationID: str("conv"), CustomerID: str("cust"), Channel: channel.Name(str("channel")),
		MessageID: str("msg"), EntryID: str("entry"), AgentID: str("agent"), ProviderID: str("provider_id"),
		Status: str("status"), ErrorCode: str("error_code"), ErrorText: str("error_text"),
		Address: str("address"), Name: str("name"), MergedID: str("merged"),
		NewConversation: str("new") == "1",
		Queue:           str("queue"), By: str("by"), Disposition: str("disposition"), From: CloseFrom(str("from")),
		CustomerAddress: str("cust_addr"), OurAddress: str("our_addr"), ThreadHint: str("thread"),
	}
	millis := func(k string) time.Duration {
		v := str(k)
		if v == "" {
			return 0 // most events have none; a failed parse would allocate its error
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		return time.Duration(n) * time.Millisecond
	}
	e.Handle, e.Wait = millis("handle_ms"), millis("wait_ms")
	if a := str("attempt"); a != "" {
		// Most events have none; a failed parse would allocate its error.
		e.Attempt, _ = strconv.Atoi(a)
	}
	if c := str("changes"); c != "" {
		e.Changes = strings.Split(c, ",")
	}
	if e.At.IsZero() {
		// The stream id starts with Redis's clock in milliseconds.
		ms, _, _ := strings.Cut(id, "-")
		e.At = fromMS(ms)
	}
	return e
}

// Entry returns one transcript entry by its id.
func (s *Service) Entry(ctx context.Context, convID, entryID string) (Entry, error) {
	if !streamIDPattern.MatchString(entryID) {
		return Entry{}, fmt.Errorf("conversation: entry: %w", &FieldError{Field: "entry", Reason: "must be an entry id like 1700000000000-0"})
	}
	msgs, err := s.rdb.XRangeN(ctx, s.k.convLog(convID), entryID, entryID, 1).Result()
	if err != nil {
		return Entry{}, fmt.Errorf("conversation: entry %s of %s: %w", entryID, convID, err)
	}
	if len(msgs) == 0 {
		return Entry{}, fmt.Errorf("conversation: entry %s of %s: %w", entryID, convID, ErrNotFound)
	}
	return entryFromStream(msgs[0].ID, msgs[0].Values), nil
}
