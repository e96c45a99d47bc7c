package webchat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Visitor tokens look like
//
//	v1.<visitor id>.<issued-at, unix seconds>.<signature>
//
// where the signature is base64url (no padding) of
// HMAC-SHA256(secret, "switchboard-webchat-visitor.v1.<visitor id>.<issued-at>").
// The domain prefix keeps a signature made for this purpose from being
// accepted by any other use of the same secret. A token carries no
// conversation id: the server looks conversations up by the visitor id, so a
// token can only ever open its own visitor's conversations.

const (
	tokenVersion = "v1"
	tokenDomain  = "switchboard-webchat-visitor."
	// clockSkew tolerates a token issued by a gateway whose clock runs a
	// little ahead of ours.
	clockSkew = 5 * time.Minute
	// minSecretLen is the shortest secret accepted: HMAC-SHA256 keys shorter
	// than the hash output weaken it.
	minSecretLen = 32
)

// Token errors callers branch on.
var (
	// ErrTokenInvalid is a token that is malformed or whose signature does
	// not match: forged or signed with another secret.
	ErrTokenInvalid = errors.New("webchat: invalid visitor token")
	// ErrTokenExpired is a genuine token older than the configured maximum
	// age; the widget drops it and starts as a new visitor.
	ErrTokenExpired = errors.New("webchat: visitor token expired")
)

// Tokens signs and verifies visitor tokens.
type Tokens struct {
	secret []byte
	maxAge time.Duration
	now    func() time.Time
}

// NewTokens returns a signer for secret (at least 32 bytes). Tokens older
// than maxAge are refused; now is the clock (nil: time.Now).
func NewTokens(secret []byte, maxAge time.Duration, now func() time.Time) (*Tokens, error) {
	if len(secret) < minSecretLen {
		return nil, fmt.Errorf("webchat: token secret must be at least %d bytes, got %d", minSecretLen, len(secret))
	}
	if maxAge <= 0 {
		return nil, fmt.Errorf("webchat: token max age must be positive")
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{secret: append([]byte(nil), secret...), maxAge: maxAge, now: now}, nil
}

// NewVisitorID returns a fresh random visitor id: "v_" and 20 base32
// characters (100 random bits), valid as a chat address.
func NewVisitorID() string {
	return "v_" + strings.ToLower(rand.Text()[:20])
}

// validVisitorID accepts the ids NewVisitorID makes and nothing that could
// confuse the token's dot-separated layout or a hub topic name.
func validVisitorID(id string) bool {
	if len(id) < 3 || len(id) > 64 || !strings.HasPrefix(id, "v_") {
		return false
	}
	for _, r := range id[2:] {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Sign returns a token for visitorID issued now.
func (t *Tokens) Sign(visitorID string) (string, error) {
	if !validVisitorID(visitorID) {
		return "", fmt.Errorf("webchat: sign: bad visitor id %q", visitorID)
	}
	payload := tokenVersion + "." + visitorID + "." + strconv.FormatInt(t.now().Unix(), 10)
	return payload + "." + t.mac(payload), nil
}

func (t *Tokens) mac(payload string) string {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(tokenDomain))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks token and returns its visitor id. The signature is compared
// in constant time before any field is trusted.
func (t *Tokens) Verify(token string) (visitorID string, err error) {
	if len(token) > 256 {
		return "", ErrTokenInvalid
	}
	cut := strings.LastIndexByte(token, '.')
	if cut < 0 {
		return "", ErrTokenInvalid
	}
	payload, sig := token[:cut], token[cut+1:]
	if !hmac.Equal([]byte(sig), []byte(t.mac(payload))) {
		return "", ErrTokenInvalid
	}
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != tokenVersion || !validVisitorID(parts[1]) {
		return "", ErrTokenInvalid
	}
	issued, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", ErrTokenInvalid
	}
	at := time.Unix(issued, 0)
	now := t.now()
	if at.After(now.Add(clockSkew)) {
		return "", ErrTokenInvalid
	}
	if now.Sub(at) > t.maxAge {
		return "", ErrTokenExpired
	}
	return parts[1], nil
}
