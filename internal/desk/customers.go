package desk

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
)

// customerStanding is how who stands to a customer: the best standing of
// any of the customer's conversations (holding one beats having served
// one). A customer the agent never served stands ClosedOther, which the
// table hides from agents.
func (d *Desk) customerStanding(ctx context.Context, who Actor, cust conversation.Customer) Standing {
	if who.supervises() {
		return ClosedOther
	}
	best := ClosedOther
	page, err := d.convs.History(ctx, cust.ID, 0, 50)
	if err != nil {
		return best
	}
	for _, c := range page.Conversations {
		if c.AgentID != who.AccountID && !c.Open() {
			continue
		}
		switch s := d.standing(ctx, who, c); s {
		case ActiveMine, OfferedToMe, WrapUp:
			return s
		case ClosedMine:
			best = ClosedMine
		}
	}
	if best == ClosedOther && cust.LastAgentID == who.AccountID {
		best = ClosedMine
	}
	return best
}

func (d *Desk) authorizeCustomer(ctx context.Context, who Actor, action Action, id string) (conversation.Customer, error) {
	cust, err := d.convs.Customer(ctx, id)
	if err != nil {
		return conversation.Customer{}, mapErr(err)
	}
	if err := Decide(who, action, d.customerStanding(ctx, who, cust)); err != nil {
		return conversation.Customer{}, fmt.Errorf("desk: customer %s: %w", id, err)
	}
	return cust, nil
}

// Customer returns a customer who may see.
func (d *Desk) Customer(ctx context.Context, who Actor, id string) (conversation.Customer, error) {
	return d.authorizeCustomer(ctx, who, See, id)
}

// FindCustomer looks a customer up by channel and address.
func (d *Desk) FindCustomer(ctx context.Context, who Actor, ch channel.Name, address string) (conversation.Customer, error) {
	cust, err := d.convs.FindCustomer(ctx, ch, address)
	if err != nil {
		return conversation.Customer{}, mapErr(err)
	}
	return d.authorizeCustomer(ctx, who, See, cust.ID)
}

// UpdateCustomer changes a customer's profile.
func (d *Desk) UpdateCustomer(ctx context.Context, who Actor, id string, u conversation.CustomerUpdate) (conversation.Customer, error) {
	if _, err := d.authorizeCustomer(ctx, who, EditCustomer, id); err != nil {
		return conversation.Customer{}, err
	}
	cust, err := d.convs.UpdateCustomer(ctx, id, u)
	return cust, mapErr(err)
}

// Merge folds customer other into id; who must be allowed to merge both.
func (d *Desk) Merge(ctx context.Context, who Actor, id, other string) (conversation.Customer, error) {
	if _, err := d.authorizeCustomer(ctx, who, MergeCustomer, id); err != nil {
		return conversation.Customer{}, err
	}
	if _, err := d.authorizeCustomer(ctx, who, MergeCustomer, other); err != nil {
		return conversation.Customer{}, err
	}
	cust, err := d.convs.Merge(ctx, id, other)
	return cust, mapErr(err)
}

// LinkAddress adds an address to a customer, merging its current owner if
// any.
func (d *Desk) LinkAddress(ctx context.Context, who Actor, id string, ch channel.Name, address string) (conversation.Customer, error) {
	if _, err := conversation.NormalizeAddress(ch, address); err != nil {
		return conversation.Customer{}, mapErr(err)
	}
	if _, err := d.authorizeCustomer(ctx, who, LinkAddress, id); err != nil {
		return conversation.Customer{}, err
	}
	cust, err := d.convs.LinkIdentity(ctx, id, ch, address)
	return cust, mapErr(err)
}

// History is one page of a customer's conversations, newest first.
// Conversations who may not see are left out of the page; the total still
// counts them, so paging stays stable.
func (d *Desk) History(ctx context.Context, who Actor, id string, offset int64, limit int) (conversation.HistoryPage, error) {
	cust, err := d.authorizeCustomer(ctx, who, See, id)
	if err != nil {
		return conversation.HistoryPage{}, err
	}
	page, err := d.convs.History(ctx, cust.ID, offset, limit)
	if err != nil {
		return page, mapErr(err)
	}
	visible := page.Conversations[:0]
	for _, c := range page.Conversations {
		if Decide(who, See, d.standing(ctx, who, c)) == nil {
			visible = append(visible, c)
		}
	}
	page.Conversations = visible
	return page, nil
}
