package conversation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Conversation returns the record of one conversation.
func (s *Service) Conversation(ctx context.Context, id string) (Conversation, error) {
	h, err := s.rdb.HGetAll(ctx, s.k.conv(id)).Result()
	if err != nil {
		return Conversation{}, fmt.Errorf("conversation: get %s: %w", id, err)
	}
	if len(h) == 0 {
		return Conversation{}, fmt.Errorf("conversation: %s: %w", id, ErrNotFound)
	}
	return convFromHash(h), nil
}

// Answered says whether an agent has replied to the customer in the
// conversation (its first reply is recorded); ErrNotFound for no such
// conversation.
func (s *Service) Answered(ctx context.Context, id string) (bool, error) {
	v, err := s.rdb.HMGet(ctx, s.k.conv(id), "state", "first_reply_at").Result()
	if err != nil {
		return false, fmt.Errorf("conversation: answered %s: %w", id, err)
	}
	if v[0] == nil {
		return false, fmt.Errorf("conversation: %s: %w", id, ErrNotFound)
	}
	at, _ := v[1].(string)
	return at != "", nil
}

// Along is a read of another service on the same Redis that rides in the
// pipeline of a conversation read (ConversationAlong), so that the record
// and, say, routing's view of it cost one round trip (routing.HolderRead).
type Along interface {
	// Pipe queues the read on p, a pipeline of c, and reports whether it
	// did: false when the read belongs to another client, and will be made
	// on its own.
	Pipe(ctx context.Context, c redis.UniversalClient, p redis.Pipeliner) bool
}

// ConversationAlong is Conversation with the reads of also sent in the
// same round trip, after the record's (the order they used to be read
// in). A read that cannot ride makes its own when asked for its result.
func (s *Service) ConversationAlong(ctx context.Context, id string, also ...Along) (Conversation, error) {
	pipe := s.rdb.Pipeline()
	rec := pipe.HGetAll(ctx, s.k.conv(id))
	for _, a := range also {
		a.Pipe(ctx, s.rdb, pipe)
	}
	// Exec's error is the first failed command's: the record's is read
	// below, the other reads report their own.
	_, _ = pipe.Exec(ctx)
	h, err := rec.Result()
	if err != nil {
		return Conversation{}, fmt.Errorf("conversation: get %s: %w", id, err)
	}
	if len(h) == 0 {
		return Conversation{}, fmt.Errorf("conversation: %s: %w", id, ErrNotFound)
	}
	return convFromHash(h), nil
}

// update runs update.lua: set fields, set-if-empty fields, append a system
// entry (unless flags hold q), and notify. It returns the appended entry,
// or a zero Entry when nothing changed.
func (s *Service) update(ctx context.Context, convID, flags, agentID string, at time.Time, set, setIfEmpty, entry []string) (Entry, error) {
	e, _, err := s.updateRecord(ctx, convID, flags, agentID, at, set, setIfEmpty, entry)
	return e, err
}

// updateRecord is update that, with flag g, also returns the record as the
// change left it (nil when nothing changed), read by the same script; the
// entry handed to the Notifier carries it too (Entry.Record).
func (s *Service) updateRecord(ctx context.Context, convID, flags, agentID string, at time.Time, set, setIfEmpty, entry []string) (Entry, *Conversation, error) {
	e, rec, _, err := s.updateBeside(ctx, convID, flags, agentID, at, set, setIfEmpty, entry, 0)
	return e, rec, err
}

// updateBeside is updateRecord that, with recent > 0 (and flag g), also
// returns what a console shows beside the record, read by the same script:
// the customer and the transcript's last recent entries (nil when nothing
// changed).
func (s *Service) updateBeside(ctx context.Context, convID, flags, agentID string, at time.Time, set, setIfEmpty, entry []string, recent int) (Entry, *Conversation, *Beside, error) {
	if recent > 0 {
		flags += "k"
	}
	now := ms(at)
	args := []any{s.k.prefix(), convID, flags, agentID, now, s.evCap, len(set) / 2}
	for _, v := range set {
		args = append(args, v)
	}
	args = append(args, len(setIfEmpty)/2)
	for _, v := range setIfEmpty {
		args = append(args, v)
	}
	entry = append(entry, "at", fmt.Sprint(now))
	args = append(args, len(entry)/2)
	for _, v := range entry {
		args = append(args, v)
	}
	if recent > 0 {
		args = append(args, min(recent, 500))
	}
	res, err := scriptUpdate.Run(ctx, s.rdb, []string{s.k.conv(convID), s.k.convLog(convID), s.k.unrouted()}, args...).Slice()
	if err != nil {
		return Entry{}, nil, nil, fmt.Errorf("conversation: update %s: %w", convID, err)
	}
	code, _ := res[0].(int64)
	switch code {
	case 1:
		return Entry{}, nil, nil, fmt.Errorf("conversation: %s: %w", convID, ErrNotFound)
	case 2:
		return Entry{}, nil, nil, fmt.Errorf("conversation: %s: %w", convID, ErrClosed)
	case 3:
		return Entry{}, nil, nil, nil
	case 4:
		return Entry{}, nil, nil, fmt.Errorf("conversation: %s: %w", convID, ErrCloseUnderWay)
	}
	var rec *Conversation
	var beside *Beside
	switch {
	case recent > 0:
		r := luaList{res: res, at: 2}
		c := convFromHash(r.pairs(r.count()))
		rec = &c
		beside = r.beside()
	case len(res) > 2:
		r := luaList{res: res, at: 2}
		c := convFromHash(r.pairs(len(res) - 2))
		rec = &c
	}
	sid, _ := res[1].(string)
	if sid == "" {
		return Entry{}, rec, beside, nil
	}
	fields := map[string]any{}
	for i := 0; i+1 < len(entry); i += 2 {
		fields[entry[i]] = entry[i+1]
	}
	e := entryFromStream(sid, fields)
	e.Record = rec
	s.notify(ctx, convID, e)
	return e, rec, beside, nil
}

// Offered records that routing offered the conversation to an agent, and
// returns the record as the offer left it, read by the same script (the
// desk rings the agent with it).
func (s *Service) Offered(ctx context.Context, convID, agentID string, at time.Time) (Conversation, error) {
	conv, _, err := s.OfferedBeside(ctx, convID, agentID, at, 0)
	return conv, err
}

// OfferedBeside is Offered that, with recent > 0, also returns what the
// agent's offer shows beside the record, read by the same script: the
// customer and the transcript's last recent entries. The Beside is nil
// when the offer changed nothing (the record was read on its own).
func (s *Service) OfferedBeside(ctx context.Context, convID, agentID string, at time.Time, recent int) (Conversation, *Beside, error) {
	_, rec, beside, err := s.updateBeside(ctx, convID, "og", agentID, at,
		[]string{"state", string(StateOffered), "agent", agentID},
		[]string{"first_offered_at", fmt.Sprint(ms(at))},
		[]string{"type", string(EntrySystem), "event", "offered", "agent", agentID, "text", "offered to " + agentID}, recent)
	conv, err := s.orRead(ctx, convID, rec, err)
	return conv, beside, err
}

// orRead passes on what an update with flag g returned, reading the
// record only when the script returned none (nothing changed).
func (s *Service) orRead(ctx context.Context, convID string, rec *Conversation, err error) (Conversation, error) {
	if err != nil {
		return Conversation{}, err
	}
	if rec != nil {
		return *rec, nil
	}
	return s.Conversation(ctx, convID)
}

// OnOfferLapsed records that an offer was declined or timed out and the
// conversation is waiting again at its place. reason is "declined" or
// "timeout".
func (s *Service) OnOfferLapsed(ctx context.Context, convID, agentID, reason string, at time.Time) error {
	_, err := s.update(ctx, convID, "o", agentID, at,
		[]string{"state", string(StateQueued), "agent", ""}, nil,
		[]string{"type", string(EntrySystem), "event", "offer_" + reason, "agent", agentID, "text", "offer to " + agentID + " " + reason})
	return err
}

// Accepted records that an agent accepted the conversation (the agent
// becomes the customer's last agent), and returns the record as the accept
// left it, read by the same script.
func (s *Service) Accepted(ctx context.Context, convID, agentID string, at time.Time) (Conversation, error) {
	conv, _, err := s.AcceptedBeside(ctx, convID, agentID, at, 0)
	return conv, err
}

// AcceptedBeside is Accepted that, with recent > 0, also returns what the
// agent's console shows beside the record, as OfferedBeside does.
func (s *Service) AcceptedBeside(ctx context.Context, convID, agentID string, at time.Time, recent int) (Conversation, *Beside, error) {
	_, rec, beside, err := s.updateBeside(ctx, convID, "oag", agentID, at,
		[]string{"state", string(StateActive), "agent", agentID, "accepted_at", fmt.Sprint(ms(at))},
		[]string{"answered_at", fmt.Sprint(ms(at))},
		[]string{"type", string(EntrySystem), "event", "accepted", "agent", agentID, "text", agentID + " accepted"}, recent)
	conv, err := s.orRead(ctx, convID, rec, err)
	return conv, beside, err
}

// OnTransferred records a transfer that routing made on its own (overflow
// to another queue). Transfers requested through Transfer are recorded by
// it and must not be reported again.
func (s *Service) OnTransferred(ctx context.Context, convID, fromAgent, toQueue, toAgent string, at time.Time) error {
	_, err := s.onTransferred(ctx, "o", convID, fromAgent, toQueue, toAgent, at)
	return err
}

// onTransferred is OnTransferred; with flags "og" it returns the record as
// the transfer left it, read by the same script.
func (s *Service) onTransferred(ctx context.Context, flags, convID, fromAgent, toQueue, toAgent string, at time.Time) (*Conversation, error) {
	set := []string{"state", string(StateQueued), "agent", toAgent}
	if toQueue != "" {
		set = append(set, "queue", toQueue)
	}
	if toAgent != "" {
		set[1] = string(StateOffered)
	}
	text := "transferred"
	if fromAgent != "" {
		text += " by " + fromAgent
	}
	if toQueue != "" {
		text += " to queue " + toQueue
	}
	if toAgent != "" {
		text += " to " + toAgent
	}
	_, rec, err := s.updateRecord(ctx, convID, flags, fromAgent, at, set, nil,
		[]string{"type", string(EntrySystem), "event", "transferred", "agent", toAgent, "queue", toQueue, "text", text})
	return rec, err
}

// OnClosed records that the conversation is closed with a disposition
// (resolved, spam, no_answer…), for routing's close of it: c.Holder is who
// routing had it with (c.HolderAccepted since when), and nobody is named
// as the closer. Closing a closed conversation does nothing, so the
// wiring may forward routing's close events for closes made through Close.
func (s *Service) OnClosed(ctx context.Context, convID string, c Closing, at time.Time) error {
	c.By, c.From = "", FromHandled
	_, err := s.onClosed(ctx, convID, c, at)
	return err
}

// CloseFrom says where a close took a conversation from, as routing knew
// it (the record may not have heard of an offer or an accept yet).
type CloseFrom string

const (
	// FromHandled: someone had taken it (or routing's state is not the
	// queue's).
	FromHandled CloseFrom = ""
	// FromWaiting and FromOffered: staff closed it from the queue before
	// anyone took it (spam), waiting, or offered to an agent.
	FromWaiting CloseFrom = "waiting"
	FromOffered CloseFrom = "offered"
)

// Closing is what a close records besides its time.
type Closing struct {
	// Holder is the agent routing had it with, when the caller read
	// routing; empty leaves the record's agent (which may lag an accept).
	// A close from the queue ignores it: nobody served the conversation.
	Holder string
	// HolderAccepted is when Holder accepted it, as routing recorded it;
	// zero when unknown. The record takes it as its last accept, which it
	// may not have heard of yet (a close that beat the accept's event, one
	// after a transfer among them), so handle time counts from it.
	HolderAccepted time.Time
	// By closed it: an agent, a supervisor; empty for nobody (routing, a
	// closer that died).
	By          string
	Disposition string
	// From is where routing had it: FromHandled, or the queue.
	From CloseFrom
}

// onClosed is OnClosed for c, returning the record as the close left it,
// nil when it was closed already. The closing line's Entry.Record carries
// it too, which saves the Notifier a read.
func (s *Service) onClosed(ctx context.Context, convID string, c Closing, at time.Time) (*Conversation, error) {
	set := []string{"state", string(StateClosed), "closed_at", fmt.Sprint(ms(at)), "disposition", c.Disposition}
	flags := "cg"
	switch {
	case c.From != FromHandled:
		// update.lua tells a close from the queue by this field.
		set = append(set, "closed_from", string(c.From))
	case c.Holder != "":
		set = append(set, "agent", c.Holder)
		if !c.HolderAccepted.IsZero() {
			set = append(set, "accepted_at", fmt.Sprint(ms(c.HolderAccepted)))
		}
		flags += "h"
	}
	_, rec, err := s.updateRecord(ctx, convID, flags, c.By, at, set, nil,
		[]string{"type", string(EntrySystem), "event", "closed", "agent", c.By, "text", closedText(c.By, c.Disposition)})
	return rec, err
}

// DispositionCustomerEnded closes a conversation the customer ended (a
// chat visitor's "End chat") after an agent had taken it.
const DispositionCustomerEnded = "customer_ended"

// closedText is the transcript line of a close, in words agents read
// ("Closed by ana · resolved", "The customer ended the chat"), not the
// disposition's identifier.
func closedText(agentID, disposition string) string {
	if disposition == DispositionCustomerEnded {
		return "The customer ended the chat"
	}
	text := "Closed"
	if agentID != "" {
		text += " by " + agentID
	}
	if disposition != "" {
		text += " · " + strings.ReplaceAll(disposition, "_", " ")
	}
	return text
}

// OnAbandoned records that the customer left before an agent answered.
// Like OnClosed it is a no-op on a closed conversation.
func (s *Service) OnAbandoned(ctx context.Context, convID string, at time.Time) error {
	return s.onAbandoned(ctx, convID, "cg", at)
}

// OnRoutingAbandoned is OnAbandoned for routing's abandoned event, at at,
// which also follows a close of a conversation nobody had taken yet (spam
// closed from the queue): staffClosedFrom is then where it was
// (FromWaiting, FromOffered), FromHandled for a customer's leaving. While
// the record holds a close's mark (MarkClosing) that ends after at, it
// records nothing and returns ErrCloseUnderWay, so the close keeps its
// disposition. Asked again closingFor after at (the closer taken for dead
// by then), it records what routing said, unless the close was recorded
// meanwhile: a customer's leaving as abandoned, a staff close as closed
// with DispositionClosedInQueue (the disposition the closer chose died
// with it), so the record agrees with the figures, which count it closed
// in the queue. at is the clock of the gateway that asked routing to
// abandon, compared with this one's: they must agree within a few
// seconds, as routing's offer deadlines assume.
func (s *Service) OnRoutingAbandoned(ctx context.Context, convID string, staffClosedFrom CloseFrom, at time.Time) error {
	if s.now().Sub(at) < closingFor {
		return s.onAbandoned(ctx, convID, "cgw", at)
	}
	if staffClosedFrom != FromHandled {
		_, err := s.onClosed(ctx, convID, Closing{Disposition: DispositionClosedInQueue, From: staffClosedFrom}, at)
		return err
	}
	return s.onAbandoned(ctx, convID, "cg", at)
}

// DispositionClosedInQueue is the disposition of a close from the queue
// whose closer died before recording its own.
const DispositionClosedInQueue = "closed_in_queue"

func (s *Service) onAbandoned(ctx context.Context, convID, flags string, at time.Time) error {
	// g: the closing line's Entry.Record saves the Notifier a read.
	_, _, err := s.updateRecord(ctx, convID, flags, "", at,
		[]string{"state", string(StateAbandoned), "closed_at", fmt.Sprint(ms(at)), "disposition", "abandoned"}, nil,
		[]string{"type", string(EntrySystem), "event", "abandoned", "text", "customer left before an answer"})
	return err
}

// closingFor is how long a close marked with MarkClosing may take: routing's
// abandoned event is left to the close until closingFor after the event
// (in practice until the consumer group hands it out again, 30 s later);
// past that, the closer is taken for dead.
const closingFor = 10 * time.Second

// MarkClosing notes on the record that a close is about to take it out of
// routing before anyone took it, which makes routing report it abandoned:
// OnRoutingAbandoned leaves the record to that close. ErrClosed for a
// closed conversation (nothing to mark).
func (s *Service) MarkClosing(ctx context.Context, convID string) error {
	_, err := s.update(ctx, convID, "oq", "", s.now(), []string{"closing_until", fmt.Sprint(ms(s.now().Add(closingFor)))}, nil, nil)
	return err
}

// Close ends a conversation on an agent's request: routing frees the agent,
// then the record is closed with the disposition.
func (s *Service) Close(ctx context.Context, convID, agentID, disposition string) (Conversation, error) {
	return s.CloseWith(ctx, convID, Closing{By: agentID, Disposition: disposition})
}

// CloseWith is Close as c says (c.By closes; c.Holder, when the caller
// read routing, is who had it).
func (s *Service) CloseWith(ctx context.Context, convID string, c Closing) (Conversation, error) {
	conv, err := s.Conversation(ctx, convID)
	if err != nil {
		return Conversation{}, err
	}
	if !conv.Open() {
		return conv, nil
	}
	if err := s.router.Close(ctx, convID, c.By); err != nil {
		return Conversation{}, fmt.Errorf("conversation: close %s: routing: %w", convID, err)
	}
	return s.RecordClose(ctx, convID, c)
}

// RecordClose is Close for a caller that has let routing go of the
// conversation itself (the desk, which decides who may close): the record
// is closed as c says, without asking routing again. A closed
// conversation stays as it was.
func (s *Service) RecordClose(ctx context.Context, convID string, c Closing) (Conversation, error) {
	rec, err := s.onClosed(ctx, convID, c, s.now())
	if err != nil {
		return Conversation{}, err
	}
	if rec != nil {
		return *rec, nil
	}
	return s.Conversation(ctx, convID)
}

// Record appends a system line (event, text) to the transcript, shown to
// agents and never to the customer: a call was answered, a callback tried.
func (s *Service) Record(ctx context.Context, convID, event, text string) error {
	if event == "" {
		return fmt.Errorf("conversation: record on %s: %w", convID, &FieldError{Field: "event", Reason: "required"})
	}
	_, err := s.update(ctx, convID, "", "", s.now(), nil, nil,
		[]string{"type", string(EntrySystem), "event", event, "text", text})
	return err
}

// MarkParked notes on the record that a pending promise is about to park
// the conversation, before the promise is made: a customer message on it
// then says so (Entry.ParkedOnce), and only such messages need to look
// for a promise to wake. The mark stays when the promise ends; a stale
// one costs that one lookup.
func (s *Service) MarkParked(ctx context.Context, convID string) error {
	_, err := s.update(ctx, convID, "oq", "", s.now(), []string{"parked_once", "1"}, nil, nil)
	return err
}

// Abandon ends a conversation whose customer left (a caller hung up in the
// queue, a chat visitor closed the window before an answer).
func (s *Service) Abandon(ctx context.Context, convID string) error {
	if err := s.router.Abandon(ctx, convID); err != nil {
		return fmt.Errorf("conversation: abandon %s: routing: %w", convID, err)
	}
	return s.OnAbandoned(ctx, convID, s.now())
}

// Transfer moves conv (as the caller just read it: the desk, which decided
// who may transfer) to another queue and/or agent through routing, and
// records it. Routing's transfer script is the authority on whether the
// move is still possible.
func (s *Service) Transfer(ctx context.Context, conv Conversation, req TransferRequest) (Conversation, error) {
	if !conv.Open() {
		return Conversation{}, fmt.Errorf("conversation: transfer %s: %w", req.ConversationID, ErrClosed)
	}
	if req.ToQueue == "" && req.ToAgentID == "" {
		return Conversation{}, fmt.Errorf("conversation: transfer: %w", &FieldError{Field: "queue", Reason: "a queue or an agent is required"})
	}
	if err := s.router.Transfer(ctx, req); err != nil {
		return Conversation{}, fmt.Errorf("conversation: transfer %s: routing: %w", req.ConversationID, err)
	}
	rec, err := s.onTransferred(ctx, "og", req.ConversationID, req.FromAgentID, req.ToQueue, req.ToAgentID, s.now())
	if err != nil {
		return Conversation{}, err
	}
	if rec != nil {
		return *rec, nil
	}
	return s.Conversation(ctx, req.ConversationID)
}
