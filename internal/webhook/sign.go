package webhook

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

// The request headers of every delivery (Standard Webhooks).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

const secretPrefix = "whsec_"

// NewSecret makes a signing secret: "whsec_" and 32 random bytes in
// base64, the form Standard Webhooks libraries accept.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook: secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) < 16 {
		return nil, errors.New("webhook: malformed secret")
	}
	return key, nil
}

// Sign returns the webhook-signature header value for body: one "v1,<sig>"
// per secret, space separated, so a receiver holding either secret of a
// rotation accepts it.
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	parts := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			return "", err
		}
		parts = append(parts, "v1,"+signature(key, id, ts.Unix(), body))
	}
	return strings.Join(parts, " "), nil
}

func signature(key []byte, id string, unix int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(unix, 10) + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is returned by Verify for a request that was not signed
// with the secret, or is outside the tolerated clock skew.
var ErrBadSignature = errors.New("webhook: bad signature")

// Verify checks a delivery as a receiver should: the timestamp within
// tolerance of now, and one of the signatures made with secret. It is
// what docs/webhooks.md shows receivers, and what the tests use.
func Verify(secret, id, timestamp, header string, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	unix, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrBadSignature, timestamp)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside tolerance", ErrBadSignature)
	}
	want := signature(key, id, unix, body)
	for _, p := range strings.Fields(header) {
		v, sig, ok := strings.Cut(p, ",")
		if ok && v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}
