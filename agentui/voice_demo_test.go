package agentui_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/agentui/internal/fakebackend"
	"github.com/switchboard/switchboard/channels/voice"
)

// registerVoiceTokens serves the voice channel's real softphone token
// endpoint next to the fake console, signed in through the fake's
// sessions, so the browser tests fetch a real token (the Twilio SDK's
// Device is stubbed in the page: Twilio cannot be reached).
func registerVoiceTokens(t testing.TB, e *echo.Echo, f *fakebackend.Fake) {
	t.Helper()
	tokens, err := voice.NewTokens(voice.TokenConfig{
		AccountSID: "AC" + strings.Repeat("0", 32), APIKeySID: "SK" + strings.Repeat("1", 32), APIKeySecret: "demo",
		WrapUp: 8 * time.Second,
		Authenticate: func(r *http.Request) (string, error) {
			p, err := f.Authenticate(r)
			return p.AccountID, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tokens.Register(e)
}
