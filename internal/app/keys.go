package app

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The wiring's own keys: secrets every gateway of a workspace must share.
//
//	sb:{ws}:secret:webchat   string   HMAC key of chat visitor tokens
func chatSecretKey(workspace string) string { return "sb:{" + workspace + "}:secret:webchat" }

// sharedSecret returns the secret stored at key, creating it on first use.
// SETNX makes concurrent first starts of several gateways agree.
func sharedSecret(ctx context.Context, rdb redis.UniversalClient, key string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("app: secret: %w", err)
	}
	if err := rdb.SetNX(ctx, key, b, 0).Err(); err != nil {
		return nil, fmt.Errorf("app: store secret: %w", err)
	}
	v, err := rdb.Get(ctx, key).Bytes()
	if err != nil {
		return nil, fmt.Errorf("app: read secret: %w", err)
	}
	return v, nil
}
