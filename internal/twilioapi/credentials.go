package twilioapi

import (
	"errors"
	"log/slog"
	"regexp"
	"strings"
)

// ErrNoCredentials means the account SID or auth token is missing, so the
// Twilio channels stay off.
var ErrNoCredentials = errors.New("twilioapi: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set")

// Credentials identify a Twilio account. The auth token is a secret: the
// type prints itself redacted so that a stray %v or slog attribute cannot
// leak it.
type Credentials struct {
	// AccountSID is "AC" followed by 32 hex digits.
	AccountSID string
	// AuthToken signs webhooks and authenticates REST calls. Secret.
	AuthToken string
}

var sidPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)

// Validate reports ErrNoCredentials when both fields are empty and a
// descriptive error when they are malformed. The error never contains the
// values themselves.
func (c Credentials) Validate() error {
	switch {
	case c.AccountSID == "" && c.AuthToken == "":
		return ErrNoCredentials
	case c.AccountSID == "" || c.AuthToken == "":
		return errors.New("twilioapi: the account SID and the auth token go together: set both or neither")
	case !sidPattern.MatchString(c.AccountSID):
		return errors.New("twilioapi: the account SID must be AC followed by 32 hex digits")
	case !alnum(c.AuthToken):
		// twilio-go refuses non-alphanumeric credentials (error 21224)
		// only when the first request is sent; say so at start instead.
		return errors.New("twilioapi: the auth token must hold only letters and digits")
	}
	return nil
}

// String redacts both fields; the SID's last four characters remain so an
// operator can tell accounts apart.
func (c Credentials) String() string {
	if c.AccountSID == "" {
		return "twilio credentials (none)"
	}
	return "twilio credentials (account …" + last4(c.AccountSID) + ", token redacted)"
}

// GoString keeps %#v from printing the token.
func (c Credentials) GoString() string { return c.String() }

// LogValue keeps slog from printing the token.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Scrub replaces every occurrence of the account SID and the auth token in
// s. Error texts from the SDK carry request URLs, which name the account.
func (c Credentials) Scrub(s string) string {
	for _, secret := range []string{c.AuthToken, c.AccountSID} {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

func last4(s string) string {
	if len(s) <= 4 {
		return s
	}
	return s[len(s)-4:]
}

func alnum(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}
