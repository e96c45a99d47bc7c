package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// tokenPrefix marks Switchboard API tokens, so a leaked one is recognizable
// by secret scanners and in logs.
const tokenPrefix = "sbt_"

// TokenInfo describes an API token; the token itself is never stored.
type TokenInfo struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
}

// CreateToken makes an API token with role and returns it. This is the
// only time the token is seen: only its SHA-256 is stored. ErrExists when
// name is taken.
func (s *Service) CreateToken(ctx context.Context, name string, role Role) (string, error) {
	if !listItem.MatchString(name) {
		return "", fmt.Errorf("%w: token name %q (1-64 of A-Z a-z 0-9 . _ -)", ErrBadInput, name)
	}
	if !role.Valid() {
		return "", fmt.Errorf("%w: role %q", ErrBadInput, role)
	}
	secret, err := randomString(32)
	if err != nil {
		return "", err
	}
	tok := tokenPrefix + secret
	hash := secretHash(tok)
	// The name is claimed first, so two creators of one name cannot both
	// get a token.
	ok, err := s.rdb.HSetNX(ctx, s.keys.tokens(), name, hash).Result()
	if err != nil {
		return "", fmt.Errorf("auth: create token %s: %w", name, err)
	}
	if !ok {
		return "", fmt.Errorf("%w: token %s", ErrExists, name)
	}
	err = s.rdb.HSet(ctx, s.keys.token(hash), "name", name, "role", string(role),
		"created", s.cfg.Clock.Now().UnixMilli()).Err()
	if err != nil {
		return "", fmt.Errorf("auth: create token %s: %w", name, err)
	}
	return tok, nil
}

// RevokeToken deletes the token called name; requests with it fail from
// now on. ErrNotFound when there is none.
func (s *Service) RevokeToken(ctx context.Context, name string) error {
	hash, err := s.rdb.HGet(ctx, s.keys.tokens(), name).Result()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("%w: token %s", ErrNotFound, name)
		}
		return fmt.Errorf("auth: revoke token %s: %w", name, err)
	}
	pipe := s.rdb.TxPipeline()
	pipe.Del(ctx, s.keys.token(hash))
	pipe.HDel(ctx, s.keys.tokens(), name)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("auth: revoke token %s: %w", name, err)
	}
	return nil
}

// Tokens lists the API tokens, ordered by name.
func (s *Service) Tokens(ctx context.Context) ([]TokenInfo, error) {
	byName, err := s.rdb.HGetAll(ctx, s.keys.tokens()).Result()
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, 0, len(byName))
	for _, hash := range byName {
		cmds = append(cmds, pipe.HGetAll(ctx, s.keys.token(hash)))
	}
	if len(cmds) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("auth: list tokens: %w", err)
		}
	}
	out := make([]TokenInfo, 0, len(byName))
	for _, c := range cmds {
		m := c.Val()
		if len(m) == 0 {
			continue
		}
		ms, _ := strconv.ParseInt(m["created"], 10, 64)
		out = append(out, TokenInfo{Name: m["name"], Role: Role(m["role"]), Created: time.UnixMilli(ms).UTC()})
	}
	slices.SortFunc(out, func(a, b TokenInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func (s *Service) tokenPrincipal(ctx context.Context, tok string) (Principal, error) {
	m, err := s.rdb.HGetAll(ctx, s.keys.token(secretHash(tok))).Result()
	if err != nil {
		return Principal{}, fmt.Errorf("auth: token lookup: %w", err)
	}
	if len(m) == 0 || !Role(m["role"]).Valid() {
		return Principal{}, fmt.Errorf("%w: unknown or revoked token", ErrUnauthenticated)
	}
	return Principal{AccountID: "token:" + m["name"], Name: m["name"], Role: Role(m["role"]), Via: ViaToken}, nil
}
