package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"
)

//go:embed lua/*.lua
var luaFS embed.FS

// Service keeps accounts, sessions and tokens in Redis. It is safe for
// concurrent use; build one per process with New.
type Service struct {
	cfg  Config
	rdb  redis.UniversalClient
	keys keys

	createAccount *redis.Script
	loginAttempt  *redis.Script
	loginResult   *redis.Script
	session       *redis.Script

	// dummyHash is compared against when the account does not exist, so
	// a login for an unknown id takes as long as one for a known id.
	dummyHash []byte

	// changes counts account writes made through this Service (Changes).
	changes atomic.Uint64
}

// Changes counts the account changes made through this Service. A cache of
// what accounts say (the desk's agent names) is current for changes made
// here while the count has not moved; other gateways' changes it can only
// bound by time.
func (s *Service) Changes() uint64 { return s.changes.Load() }

// New builds a Service.
func New(cfg Config) (*Service, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, rdb: cfg.Redis, keys: newKeys(cfg.Workspace)}
	for _, sc := range []struct {
		dst  **redis.Script
		name string
	}{
		{&s.createAccount, "create_account"},
		{&s.loginAttempt, "login_attempt"},
		{&s.loginResult, "login_result"},
		{&s.session, "session"},
	} {
		src, err := luaFS.ReadFile("lua/" + sc.name + ".lua")
		if err != nil {
			return nil, fmt.Errorf("auth: script %s: %w", sc.name, err)
		}
		*sc.dst = redis.NewScript(string(src))
	}
	secret, err := randomString(16)
	if err != nil {
		return nil, err
	}
	s.dummyHash, err = bcrypt.GenerateFromPassword([]byte(secret), cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("auth: dummy hash: %w", err)
	}
	return s, nil
}

// CookieName is the name of the session cookie.
func (s *Service) CookieName() string { return s.cfg.CookieName }

// randomString returns n random bytes, base64url encoded.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// secretHash is how sessions and tokens are looked up: their SHA-256, so
// the database never holds a usable secret. These secrets are 256 random
// bits, so a fast hash is enough; bcrypt is for human passwords.
func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
