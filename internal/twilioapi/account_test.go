package twilioapi

import (
	"errors"
	"strings"
	"testing"
)

func TestOpenAccount(t *testing.T) {
	creds := Credentials{AccountSID: "AC" + strings.Repeat("a", 32), AuthToken: strings.Repeat("s", 32)}
	if _, err := OpenAccount(AccountOptions{PublicURL: "https://support.example.com"}); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("no credentials: %v, want ErrNoCredentials", err)
	}
	for _, o := range []AccountOptions{
		{Credentials: Credentials{AccountSID: "AC1", AuthToken: creds.AuthToken}, PublicURL: "https://support.example.com"},
		{Credentials: creds, PublicURL: "not a url"},
		{Credentials: creds, PublicURL: "https://support.example.com", BaseURL: "::"},
	} {
		_, err := OpenAccount(o)
		if err == nil || errors.Is(err, ErrNoCredentials) || strings.Contains(err.Error(), creds.AuthToken) {
			t.Errorf("%+v: %v", o.PublicURL+" "+o.BaseURL, err)
		}
	}
	a, err := OpenAccount(AccountOptions{Credentials: creds, PublicURL: "https://support.example.com"})
	if err != nil || a.Validator == nil || a.Rest == nil {
		t.Fatalf("valid account: %+v %v", a, err)
	}
}
