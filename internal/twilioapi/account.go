package twilioapi

import (
	"log/slog"
	"net/http"

	"github.com/twilio/twilio-go"
)

// AccountOptions are what a Twilio channel knows of its account.
type AccountOptions struct {
	Credentials Credentials
	// PublicURL, TrustProxy and Logger: see ValidatorOptions.
	PublicURL  string
	TrustProxy bool
	Logger     *slog.Logger
	// BaseURL and HTTPClient: see ClientOptions.
	BaseURL    string
	HTTPClient *http.Client
}

// Account is one Twilio account as a channel uses it: the webhook
// signature check and the REST client.
type Account struct {
	Validator *Validator
	Rest      *twilio.RestClient
}

// OpenAccount checks the credentials and builds both. It returns
// ErrNoCredentials (errors.Is) when none are configured, which turns the
// channel off, and otherwise an error that never contains the secrets.
func OpenAccount(o AccountOptions) (Account, error) {
	if err := o.Credentials.Validate(); err != nil {
		return Account{}, err
	}
	v, err := NewValidator(ValidatorOptions{
		AuthToken: o.Credentials.AuthToken, PublicURL: o.PublicURL, TrustProxy: o.TrustProxy, Logger: o.Logger,
	})
	if err != nil {
		return Account{}, err
	}
	rest, err := NewRestClient(ClientOptions{Credentials: o.Credentials, BaseURL: o.BaseURL, HTTPClient: o.HTTPClient})
	if err != nil {
		return Account{}, err
	}
	return Account{Validator: v, Rest: rest}, nil
}
