package conversation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard/switchboard/internal/channel"
)

// OptOuts remembers which customers asked a channel not to write to them
// (an SMS STOP), until they ask again (START). The store is the core's,
// not the channel's, because the scripts that store a customer's message
// and claim a reply read it along their own work (channel.Receipt.OptOut,
// channel.Outbound.OptOut): one key, read where the round trip is made
// anyway.
type OptOuts struct {
	rdb redis.UniversalClient
	k   keys
}

// NewOptOuts keeps the opt-outs of workspace in rdb.
func NewOptOuts(rdb redis.UniversalClient, workspace string) *OptOuts {
	return &OptOuts{rdb: rdb, k: keys{ws: workspace}}
}

// SetOptOut records (optedOut) or clears the opt-out of address from ch.
// address is the customer's normalized address (an E.164 number).
func (o *OptOuts) SetOptOut(ctx context.Context, ch channel.Name, address string, optedOut bool) error {
	key := o.k.optOut(ch, address)
	var err error
	if optedOut {
		// SetNX keeps the time of the first STOP when the provider retries it.
		err = o.rdb.SetNX(ctx, key, time.Now().UTC().Format(time.RFC3339), 0).Err()
	} else {
		err = o.rdb.Del(ctx, key).Err()
	}
	if err != nil {
		return fmt.Errorf("conversation: record opt-out: %w", err)
	}
	return nil
}

// IsOptedOut reports whether address opted out of ch.
func (o *OptOuts) IsOptedOut(ctx context.Context, ch channel.Name, address string) (bool, error) {
	err := o.rdb.Get(ctx, o.k.optOut(ch, address)).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("conversation: look up opt-out: %w", err)
	}
	return true, nil
}

// optOutOf reads a script's "1"/"0" opt-out answer; no answer is unread.
func optOutOf(v string) channel.OptOut {
	switch v {
	case "1":
		return channel.OptOutYes
	case "0":
		return channel.OptOutNo
	}
	return channel.OptOutUnread
}
