package sms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/switchboard/switchboard/internal/channel"
)

// OptOuts remembers which customers asked not to be texted. address is the
// customer's E.164 number.
type OptOuts interface {
	SetOptOut(ctx context.Context, ch channel.Name, address string, optedOut bool) error
	IsOptedOut(ctx context.Context, ch channel.Name, address string) (bool, error)
}

// RedisOptOuts keeps opt-outs in Redis under
// sb:{workspace}:optout:<channel>:<address>, valued with the time of the
// opt-out. Keys never expire: an opt-out holds until the customer texts
// START.
type RedisOptOuts struct {
	client    redis.UniversalClient
	workspace string
}

// NewRedisOptOuts keeps opt-outs of workspace in client.
func NewRedisOptOuts(client redis.UniversalClient, workspace string) *RedisOptOuts {
	return &RedisOptOuts{client: client, workspace: workspace}
}

// SetOptOut records (optedOut) or clears the opt-out of address.
func (o *RedisOptOuts) SetOptOut(ctx context.Context, ch channel.Name, address string, optedOut bool) error {
	key := optOutKey(o.workspace, ch, address)
	var err error
	if optedOut {
		// SetNX keeps the time of the first STOP when Twilio retries it.
		err = o.client.SetNX(ctx, key, time.Now().UTC().Format(time.RFC3339), 0).Err()
	} else {
		err = o.client.Del(ctx, key).Err()
	}
	if err != nil {
		return fmt.Errorf("sms: record opt-out: %w", err)
	}
	return nil
}

// IsOptedOut reports whether address opted out of ch.
func (o *RedisOptOuts) IsOptedOut(ctx context.Context, ch channel.Name, address string) (bool, error) {
	err := o.client.Get(ctx, optOutKey(o.workspace, ch, address)).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("sms: look up opt-out: %w", err)
	}
	return true, nil
}
