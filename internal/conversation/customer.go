package conversation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/internal/channel"
)

// resolveCustomer follows merged_into from id to the surviving customer.
func (s *Service) resolveCustomer(ctx context.Context, id string) (string, error) {
	for range 32 {
		f, err := s.rdb.HMGet(ctx, s.k.cust(id), "id", "merged_into").Result()
		if err != nil {
			return "", fmt.Errorf("conversation: customer %s: %w", id, err)
		}
		if f[0] == nil {
			return "", fmt.Errorf("conversation: customer %s: %w", id, ErrNotFound)
		}
		next, _ := f[1].(string)
		if next == "" {
			return id, nil
		}
		id = next
	}
	return "", fmt.Errorf("conversation: customer %s: merge chain too long", id)
}

// Customer returns a customer. The id of a customer merged into another
// returns the surviving customer, whose ID differs.
//
// Every offer and every customer line on a console names the customer, so
// the common case (not merged) is one round trip: the record, identities
// and tags are read together, and only a record that says merged_into
// follows the chain and reads again.
func (s *Service) Customer(ctx context.Context, id string) (Customer, error) {
	return s.CustomerAlong(ctx, id, nil)
}

// CustomerAlong is Customer with also's read (nil: none) sent in the
// first round trip, after the customer's.
func (s *Service) CustomerAlong(ctx context.Context, id string, also Along) (Customer, error) {
	for followed := false; ; followed = true {
		pipe := s.rdb.Pipeline()
		h := pipe.HGetAll(ctx, s.k.cust(id))
		idents := pipe.SMembers(ctx, s.k.custIdents(id))
		tags := pipe.SMembers(ctx, s.k.custTags(id))
		if also != nil && !followed {
			also.Pipe(ctx, s.rdb, pipe) // if it cannot ride here, it reads on its own
		}
		// Exec's error is the first failed command's; also's read reports
		// its own.
		_, _ = pipe.Exec(ctx)
		if err := firstErr(h, idents, tags); err != nil {
			return Customer{}, fmt.Errorf("conversation: customer %s: %w", id, err)
		}
		v := h.Val()
		if v["id"] == "" {
			return Customer{}, fmt.Errorf("conversation: customer %s: %w", id, ErrNotFound)
		}
		if v["merged_into"] != "" && !followed {
			// (Merged again between the two reads: the record read
			// second is returned, as a read just before that merge.)
			next, err := s.resolveCustomer(ctx, v["merged_into"])
			if err != nil {
				return Customer{}, err
			}
			id = next
			continue
		}
		return customerOf(id, v, idents.Val(), tags.Val()), nil
	}
}

// customerOf is the customer id read as its hash v, identities and tags.
func customerOf(id string, v map[string]string, idents, tags []string) Customer {
	c := Customer{
		ID: id, Name: v["name"], Notes: v["notes"], LastAgentID: v["last_agent"],
		LastAgentAt: fromMS(v["last_agent_at"]), CreatedAt: fromMS(v["created_at"]),
		Identities: idents, Tags: tags,
	}
	slices.Sort(c.Identities)
	slices.Sort(c.Tags)
	return c
}

// FindCustomer returns the customer known by an address on a channel.
func (s *Service) FindCustomer(ctx context.Context, ch channel.Name, address string) (Customer, error) {
	addr, err := NormalizeAddress(ch, address)
	if err != nil {
		return Customer{}, fmt.Errorf("conversation: find customer: %w", err)
	}
	id, err := s.rdb.Get(ctx, s.k.ident(identKind(ch), addr)).Result()
	if errors.Is(err, redis.Nil) {
		return Customer{}, fmt.Errorf("conversation: customer %s:%s: %w", ch, addr, ErrNotFound)
	}
	if err != nil {
		return Customer{}, fmt.Errorf("conversation: find customer: %w", err)
	}
	return s.Customer(ctx, id)
}

// CustomerUpdate changes a customer; nil fields stay as they are.
type CustomerUpdate struct {
	Name  *string
	Notes *string
	// Tags replaces the whole tag set; tags are trimmed and lower-cased.
	Tags *[]string
}

// UpdateCustomer applies u in one MULTI, so readers see all of it or none.
func (s *Service) UpdateCustomer(ctx context.Context, id string, u CustomerUpdate) (Customer, error) {
	id, err := s.resolveCustomer(ctx, id)
	if err != nil {
		return Customer{}, err
	}
	var tags []any
	if u.Tags != nil {
		for _, t := range *u.Tags {
			t = strings.ToLower(strings.TrimSpace(t))
			if t == "" || len(t) > 64 {
				return Customer{}, fmt.Errorf("conversation: update customer: %w", &FieldError{Field: "tags", Reason: "tags must be 1 to 64 characters"})
			}
			tags = append(tags, t)
		}
	}
	var changes []string
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if u.Name != nil {
			p.HSet(ctx, s.k.cust(id), "name", strings.TrimSpace(*u.Name))
			changes = append(changes, "name")
		}
		if u.Notes != nil {
			p.HSet(ctx, s.k.cust(id), "notes", *u.Notes)
			changes = append(changes, "notes")
		}
		if u.Tags != nil {
			p.Del(ctx, s.k.custTags(id))
			if len(tags) > 0 {
				p.SAdd(ctx, s.k.custTags(id), tags...)
			}
			changes = append(changes, "tags")
		}
		if len(changes) > 0 {
			// In the same MULTI: the change and its event, or neither.
			p.XAdd(ctx, &redis.XAddArgs{Stream: s.k.events(), MaxLen: s.evCap, Approx: true, Values: []any{
				"type", EventCustomerUpdated, "cust", id, "changes", strings.Join(changes, ","), "at", ms(s.now())}})
		}
		return nil
	})
	if err != nil {
		return Customer{}, fmt.Errorf("conversation: update customer %s: %w", id, err)
	}
	return s.Customer(ctx, id)
}

// Tag adds (on) or removes one tag of the customer, leaving the others:
// service recovery tags and untags while an agent may edit the rest.
func (s *Service) Tag(ctx context.Context, id, tag string, on bool) error {
	id, err := s.resolveCustomer(ctx, id)
	if err != nil {
		return err
	}
	tag = strings.ToLower(strings.TrimSpace(tag))
	if tag == "" || len(tag) > 64 {
		return fmt.Errorf("conversation: tag: %w", &FieldError{Field: "tags", Reason: "tags must be 1 to 64 characters"})
	}
	add := "0"
	if on {
		add = "1"
	}
	if err := scriptTag.Run(ctx, s.rdb, []string{s.k.custTags(id), s.k.events()}, id, tag, add, s.evCap, ms(s.now())).Err(); err != nil {
		return fmt.Errorf("conversation: tag customer %s: %w", id, err)
	}
	return nil
}

// Merge makes other part of id: identities, tags, notes and every
// conversation of other move to id, so both histories become one. other
// keeps existing as a pointer to id. Merging a customer with itself is a
// no-op.
func (s *Service) Merge(ctx context.Context, id, other string) (Customer, error) {
	// A concurrent merge can move either customer between resolving and
	// the script; resolving again settles it.
	for range 3 {
		w, err := s.resolveCustomer(ctx, id)
		if err != nil {
			return Customer{}, err
		}
		l, err := s.resolveCustomer(ctx, other)
		if err != nil {
			return Customer{}, err
		}
		if w == l {
			return s.Customer(ctx, w)
		}
		code, err := scriptMerge.Run(ctx, s.rdb, []string{s.k.cust(w), s.k.cust(l)},
			s.k.prefix(), w, l, ms(s.now()), s.evCap, string(channel.SMS), string(channel.Voice), string(channel.Email), string(channel.Chat)).Int()
		if err != nil {
			return Customer{}, fmt.Errorf("conversation: merge %s into %s: %w", l, w, err)
		}
		switch code {
		case 0, 4:
			return s.Customer(ctx, w)
		case 1:
			return Customer{}, fmt.Errorf("conversation: merge %s into %s: %w", l, w, ErrNotFound)
		}
	}
	return Customer{}, fmt.Errorf("conversation: merge %s into %s: customers kept changing", other, id)
}

// LinkIdentity tells the service that an address belongs to a customer. An
// address nobody has yet is added; an address of another customer merges
// that customer into this one.
func (s *Service) LinkIdentity(ctx context.Context, id string, ch channel.Name, address string) (Customer, error) {
	addr, err := NormalizeAddress(ch, address)
	if err != nil {
		return Customer{}, fmt.Errorf("conversation: link identity: %w", err)
	}
	id, err = s.resolveCustomer(ctx, id)
	if err != nil {
		return Customer{}, err
	}
	ident := identKind(ch) + ":" + addr
	res, err := scriptLink.Run(ctx, s.rdb, []string{s.k.ident(identKind(ch), addr), s.k.cust(id), s.k.custIdents(id), s.k.events()}, id, ident, s.evCap, ms(s.now())).Slice()
	if err != nil {
		return Customer{}, fmt.Errorf("conversation: link %s to %s: %w", ident, id, err)
	}
	switch code, _ := res[0].(int64); code {
	case 1:
		return Customer{}, fmt.Errorf("conversation: customer %s: %w", id, ErrNotFound)
	case 2:
		owner, _ := res[1].(string)
		return s.Merge(ctx, id, owner)
	}
	return s.Customer(ctx, id)
}

// HistoryPage is one page of a customer's conversations, newest first.
type HistoryPage struct {
	CustomerID    string         `json:"customer_id"`
	Conversations []Conversation `json:"conversations"`
	Total         int64          `json:"total"`
	// Next is the offset of the next page, or -1 after the last one.
	Next int64 `json:"next"`
}

// History returns the customer's conversations on every channel, newest
// first, from offset, at most limit (1..100; zero means 20).
func (s *Service) History(ctx context.Context, customerID string, offset int64, limit int) (HistoryPage, error) {
	id, err := s.resolveCustomer(ctx, customerID)
	if err != nil {
		return HistoryPage{}, err
	}
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	offset = max(offset, 0)
	pipe := s.rdb.Pipeline()
	ids := pipe.ZRevRange(ctx, s.k.custConvs(id), offset, offset+int64(limit)-1)
	total := pipe.ZCard(ctx, s.k.custConvs(id))
	if _, err := pipe.Exec(ctx); err != nil {
		return HistoryPage{}, fmt.Errorf("conversation: history %s: %w", id, err)
	}
	page := HistoryPage{CustomerID: id, Total: total.Val(), Next: -1, Conversations: []Conversation{}}
	if len(ids.Val()) > 0 {
		pipe = s.rdb.Pipeline()
		hs := make([]*redis.MapStringStringCmd, len(ids.Val()))
		for i, cid := range ids.Val() {
			hs[i] = pipe.HGetAll(ctx, s.k.conv(cid))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return HistoryPage{}, fmt.Errorf("conversation: history %s: %w", id, err)
		}
		for _, h := range hs {
			if len(h.Val()) > 0 {
				page.Conversations = append(page.Conversations, convFromHash(h.Val()))
			}
		}
	}
	if next := offset + int64(len(ids.Val())); next < page.Total {
		page.Next = next
	}
	return page, nil
}

// firstErr is the first error of cmds.
func firstErr(cmds ...redis.Cmder) error {
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}
