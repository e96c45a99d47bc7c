package conversation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/internal/channel"
)

// Receive stores one inbound message: it drops a duplicate delivery (same
// channel and provider id) with success, resolves the customer by address,
// joins the open conversation for the thread or opens one, and appends the
// message to the transcript, all in one Lua script so nothing is half
// written. A new conversation is then handed to the Router; if routing
// fails the message is still stored (Receive succeeds, the provider must not
// retry) and Run enqueues the conversation again later.
//
// Attachments a channel stored with StoreAttachment are checked: they must
// exist below the attachment directory, and all of one message must stay
// within MaxMessageAttachmentBytes (ErrTooLarge); channels stop storing a
// message's files once the limit is reached and keep the rest by URL.
// Without a ProviderID there is no deduplication.
//
// ThreadHint may list several keys separated by spaces, most telling first
// (email: In-Reply-To, "conv:<id>" from a per-conversation reply address,
// then References newest first); the first that names a conversation of
// this customer on this channel wins. On email, a closed conversation so
// named is reopened and enqueued again (Receipt.NewConversation stays
// false: it is not new, and gets no first acknowledgement). Nothing threads
// across customers: a key naming another customer's conversation is ignored.
func (s *Service) Receive(ctx context.Context, in channel.Inbound) (channel.Receipt, error) {
	from, err := NormalizeAddress(in.Channel, in.From)
	if err != nil {
		if fe, ok := err.(*FieldError); ok && fe.Field == "address" {
			fe.Field = "from"
		}
		return channel.Receipt{}, fmt.Errorf("conversation: receive: %w", err)
	}
	if len(in.ProviderID) > 998 || len(in.ThreadHint) > 998 {
		return channel.Receipt{}, fmt.Errorf("conversation: receive: %w", &FieldError{Field: "provider_id", Reason: "provider id and thread hint are limited to 998 bytes"})
	}
	at := in.ReceivedAt
	if at.IsZero() {
		at = s.now()
	}
	var att string
	if len(in.Attachments) > 0 {
		// Sizes of stored files are taken from the store; the caller's slice is
		// left alone.
		in.Attachments = append([]channel.Attachment(nil), in.Attachments...)
		if err := s.checkAttachments(ctx, in.Attachments); err != nil {
			return channel.Receipt{}, fmt.Errorf("conversation: receive: %w", err)
		}
		b, err := json.Marshal(in.Attachments)
		if err != nil {
			return channel.Receipt{}, fmt.Errorf("conversation: receive: attachments: %w", err)
		}
		att = string(b)
	}
	rt := s.route(in.To)
	strict, reopen := "0", "0"
	if in.Channel == channel.Voice {
		strict = "1"
	}
	if in.Channel == channel.Email {
		// A reply days later belongs to its thread, even once closed.
		reopen = "1"
	}
	keys := []string{s.k.dedup(in.Channel, in.ProviderID), s.k.ident(identKind(in.Channel), from), s.k.unrouted()}
	args := []any{
		s.k.prefix(), string(in.Channel), from, strings.TrimSpace(in.To), in.ProviderID, in.ThreadHint,
		identKind(in.Channel), ms(at), newID("cv_"), newID("cu_"), newID("m_"), rt.Queue, strings.TrimSpace(in.Name),
		in.Text, att, int64(s.dedupTTL / time.Second), strict, int64(s.thrTTL / time.Second),
		strings.Join(rt.Skills, ","), VIPTag, reopen, s.evCap, flag(threadsByMessageID(in.Channel)),
	}
	res, err := scriptReceive.Run(ctx, s.rdb, keys, args...).StringSlice()
	if err != nil {
		return channel.Receipt{}, fmt.Errorf("conversation: receive %s from %s: %w", in.Channel, from, err)
	}
	if len(res) < 10 {
		return channel.Receipt{}, fmt.Errorf("conversation: receive: script returned %d values", len(res))
	}
	r := channel.Receipt{
		ConversationID:  res[1],
		MessageID:       res[2],
		CustomerID:      res[3],
		Duplicate:       res[0] == "dup",
		NewConversation: res[0] == "new",
		Returning:       res[5] == "1",
	}
	var tags []string
	if !r.Duplicate {
		if len(res) < 14 {
			return channel.Receipt{}, fmt.Errorf("conversation: receive: script returned %d values", len(res))
		}
		r.OptOut = optOutOf(res[12])
		n, _ := strconv.Atoi(res[13])
		if n < 0 || 14+n > len(res) {
			return channel.Receipt{}, fmt.Errorf("conversation: receive: script returned %d identities in %d values", n, len(res))
		}
		idents, rest := res[14:14+n], res[14+n:]
		tags = rest
		author := &Customer{ID: r.CustomerID, Name: res[10], Identities: slices.Sorted(slices.Values(idents)),
			Tags: slices.Sorted(slices.Values(rest))}
		e := Entry{ID: res[4], Type: EntryCustomer, MessageID: r.MessageID, Author: r.CustomerID, ParkedOnce: res[11] == "1",
			Channel: in.Channel, Text: in.Text, Attachments: in.Attachments, ProviderID: in.ProviderID, At: at.UTC().Truncate(time.Millisecond),
			Customer: author}
		s.notify(ctx, r.ConversationID, e)
	}
	// Only the delivery that opened (or reopened) the conversation enqueues
	// it; if that fails or the process dies first, Run enqueues it after
	// RouteRetry. (Duplicates do not try: they arrive while the first is
	// still routing.)
	if r.NewConversation || res[0] == "reopen" {
		req := RouteRequest{
			ConversationID: r.ConversationID, Queue: rt.Queue, Channel: in.Channel, CustomerID: r.CustomerID,
			Skills: rt.Skills, EnqueuedAt: at.UTC().Truncate(time.Millisecond), Returning: r.Returning,
			VIP: res[7] == "1", LastAgentID: res[8], LastServedAt: fromMS(res[9]), Tags: tags,
		}
		req.Priority = priority(rt, req)
		if err := s.enqueueReq(ctx, req); err != nil {
			s.log.WarnContext(ctx, "conversation: enqueue failed; will retry", "conversation", r.ConversationID, "err", err)
		}
	}
	return r, nil
}

// enqueue hands a stored conversation to the Router and marks it routed.
// Safe to repeat: Router.Enqueue is idempotent by contract.
func (s *Service) enqueue(ctx context.Context, convID string) error {
	req, err := s.routeRequest(ctx, convID)
	if errors.Is(err, ErrClosed) {
		// Closed before routing took it (the caller hung up): nothing to route.
		return s.rdb.ZRem(ctx, s.k.unrouted(), convID).Err()
	}
	if err != nil {
		return err
	}
	return s.enqueueReq(ctx, req)
}

func (s *Service) enqueueReq(ctx context.Context, req RouteRequest) error {
	convID := req.ConversationID
	if err := s.router.Enqueue(ctx, req); err != nil {
		return fmt.Errorf("conversation: enqueue %s: %w", convID, err)
	}
	_, err := s.update(ctx, convID, "r", "", s.now(),
		[]string{"routed", "1"}, nil,
		[]string{"type", string(EntrySystem), "event", "enqueued", "queue", req.Queue})
	return err
}

// routeRequest builds the request from the stored records, so a retry long
// after the inbound sees the same (or newer) facts.
func (s *Service) routeRequest(ctx context.Context, convID string) (RouteRequest, error) {
	conv, err := s.Conversation(ctx, convID)
	if err != nil {
		return RouteRequest{}, err
	}
	if !conv.Open() {
		return RouteRequest{}, fmt.Errorf("conversation: route %s: %w", convID, ErrClosed)
	}
	pipe := s.rdb.Pipeline()
	cust := pipe.HMGet(ctx, s.k.cust(conv.CustomerID), "last_agent", "last_agent_at")
	tags := pipe.SMembers(ctx, s.k.custTags(conv.CustomerID))
	if _, err := pipe.Exec(ctx); err != nil {
		return RouteRequest{}, fmt.Errorf("conversation: route request %s: %w", convID, err)
	}
	req := RouteRequest{
		ConversationID: conv.ID,
		Queue:          conv.Queue,
		Channel:        conv.Channel,
		CustomerID:     conv.CustomerID,
		Skills:         conv.Skills,
		EnqueuedAt:     conv.EnqueuedAt,
		Returning:      conv.Returning,
		VIP:            slices.Contains(tags.Val(), VIPTag),
		Tags:           tags.Val(),
	}
	if v := cust.Val(); len(v) == 2 {
		req.LastAgentID, _ = v[0].(string)
		if at, ok := v[1].(string); ok {
			req.LastServedAt = fromMS(at)
		}
	}
	req.Priority = priority(s.route(conv.OurAddress), req)
	return req, nil
}

// priority is the route's base priority (of our address). Returning and
// VIP customers are flagged on the request, and routing adds its queue's
// boosts for them: one policy, configured per queue.
func priority(rt Route, _ RouteRequest) int { return rt.Priority }

// retryUnrouted enqueues conversations that have waited longer than
// RouteRetry for routing to take them.
func (s *Service) retryUnrouted(ctx context.Context) {
	cutoff := ms(s.now().Add(-s.ob.RouteRetry))
	ids, err := s.rdb.ZRangeByScore(ctx, s.k.unrouted(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(cutoff, 10), Count: 100,
	}).Result()
	if err != nil {
		s.log.WarnContext(ctx, "conversation: list unrouted", "err", err)
		return
	}
	for _, id := range ids {
		if err := s.enqueue(ctx, id); err != nil {
			s.log.WarnContext(ctx, "conversation: enqueue retry failed", "conversation", id, "err", err)
		}
	}
}

// threadsByMessageID says whether a channel's customers answer a message by
// naming it (email's In-Reply-To and References), so that each message's
// provider id must find its conversation for ThreadTTL. The other channels
// find the conversation by the customer's address or chat session; a key
// per message kept 90 days would only fill Redis (ten a chat).
func threadsByMessageID(ch channel.Name) bool { return ch == channel.Email }

// flag is a script's "1" or "0".
func flag(on bool) string {
	if on {
		return "1"
	}
	return "0"
}
