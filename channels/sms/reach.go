package sms

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/internal/channel"
)

var _ channel.Reachability = (*Channel)(nil)

// MayContact refuses a number whose owner texted STOP (until they text
// START): carriers block such messages, and the law in many places forbids
// them. An agent starting a conversation hears why.
func (c *Channel) MayContact(ctx context.Context, address string) error {
	n, err := channel.NormalizeNumber(address, false)
	if err != nil {
		return fmt.Errorf("sms: %q is not a phone number: %w", address, err)
	}
	out, err := c.optOuts.IsOptedOut(ctx, channel.SMS, n)
	if err != nil {
		return err
	}
	if out {
		return optedOut(n + " opted out of text messages (texted STOP); they can text START to opt back in")
	}
	return nil
}

// optedOut is channel.ErrOptedOut in words for the agent.
type optedOut string

func (e optedOut) Error() string        { return string(e) }
func (e optedOut) Is(target error) bool { return target == channel.ErrOptedOut }
