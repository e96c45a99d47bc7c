package webchat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
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

// File capabilities. A visitor's upload is answered with an upload id,
//
//	<signature>:<size>:<stored key>
//
// the signature being base64url of HMAC-SHA256(secret,
// "switchboard-webchat-upload.<visitor id>.<conversation id>.<size>.<key>"):
// a message frame may attach it only from that visitor, to that
// conversation, so no visitor can attach a file someone else stored. (The
// size is only for the widget's echo; the transcript takes the store's.)
// A stored file of a conversation is shown to its visitor at
//
//	/chat/files?c=<conversation id>&k=<key>&e=<expiry, unix seconds>&s=<signature>
//
// signed over "switchboard-webchat-file.<conversation id>.<key>.<expiry>";
// the server signs only files of messages in the visitor's own
// conversation, and only for sockets holding that visitor's token.
const (
	uploadDomain = "switchboard-webchat-upload."
	fileDomain   = "switchboard-webchat-file."
	// fileLinkLife is how long a download link stays good; a widget gets
	// fresh links whenever it resumes.
	fileLinkLife = 24 * time.Hour
)

func (t *Tokens) macFor(domain string, parts ...string) string {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(domain))
	m.Write([]byte(strings.Join(parts, ".")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// uploadID is the id a visitor's message frame names an upload by.
func (t *Tokens) uploadID(visitorID, convID, key string, size int64) string {
	n := strconv.FormatInt(size, 10)
	return t.macFor(uploadDomain, visitorID, convID, n, key) + ":" + n + ":" + key
}

// uploadKey returns the stored key and size of an upload id made for this
// visitor and conversation; false for any other.
func (t *Tokens) uploadKey(visitorID, convID, id string) (string, int64, bool) {
	sig, rest, _ := strings.Cut(id, ":")
	n, key, ok := strings.Cut(rest, ":")
	if !ok || key == "" {
		return "", 0, false
	}
	size, err := strconv.ParseInt(n, 10, 64)
	if err != nil || size < 0 {
		return "", 0, false
	}
	return key, size, hmac.Equal([]byte(sig), []byte(t.macFor(uploadDomain, visitorID, convID, n, key)))
}

// fileQuery is the query of a download link for key of convID, good until
// an expiry rounded up to the hour (so frames of one hour link alike).
func (t *Tokens) fileQuery(convID, key string) string {
	exp := t.now().Add(fileLinkLife).Truncate(time.Hour).Add(time.Hour).Unix()
	e := strconv.FormatInt(exp, 10)
	v := url.Values{"c": {convID}, "k": {key}, "e": {e}, "s": {t.macFor(fileDomain, convID, key, e)}}
	return v.Encode()
}

// Errors of checkFile.
var (
	errLinkInvalid = errors.New("webchat: invalid file link")
	errLinkExpired = errors.New("webchat: file link expired")
)

// checkFile verifies a download link's query and returns its key.
func (t *Tokens) checkFile(q url.Values) (string, error) {
	c, k, e, s := q.Get("c"), q.Get("k"), q.Get("e"), q.Get("s")
	if !validID(c, 128) || k == "" || len(k) > 256 || e == "" || len(s) > 64 ||
		!hmac.Equal([]byte(s), []byte(t.macFor(fileDomain, c, k, e))) {
		return "", errLinkInvalid
	}
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil {
		return "", errLinkInvalid
	}
	if t.now().Unix() > exp {
		return "", errLinkExpired
	}
	return k, nil
}
