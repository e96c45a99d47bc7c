package voice

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/twilio/twilio-go/client/jwt"
)

// Tokens serves GET TokenPath: the signed-in agent's softphone gets a
// Voice access token whose identity is the agent id (the <Client> our
// connect URL dials), allowed to receive calls only. The Channel registers
// one; it stands alone so the console's browser tests can serve it.
type Tokens struct {
	accountSID, keySID, keySecret string
	ttl                           time.Duration
	wrapUp                        time.Duration
	auth                          func(*http.Request) (string, error)
	now                           func() time.Time
}

// TokenConfig configures Tokens.
type TokenConfig struct {
	// AccountSID, APIKeySID and APIKeySecret sign the tokens; without a
	// key the endpoint answers 503 and says what to set.
	AccountSID, APIKeySID, APIKeySecret string
	// TTL is a token's life; twilio-go makes it at least an hour.
	TTL time.Duration
	// WrapUp is told to the console for its countdown after a call; it is
	// the voice queues' wrap-up time in routing. Zero: no countdown.
	WrapUp time.Duration
	// Authenticate names the signed-in agent of a request, or errs. Nil
	// answers 503.
	Authenticate func(*http.Request) (agentID string, err error)
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// NewTokens builds the token endpoint.
func NewTokens(c TokenConfig) (*Tokens, error) {
	if (c.APIKeySID == "") != (c.APIKeySecret == "") {
		return nil, errors.New("voice: TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together: set both or neither")
	}
	if c.TTL < time.Hour {
		c.TTL = time.Hour // twilio-go never issues a shorter one
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Tokens{accountSID: c.AccountSID, keySID: c.APIKeySID, keySecret: c.APIKeySecret,
		ttl: c.TTL, wrapUp: c.WrapUp, auth: c.Authenticate, now: c.Now}, nil
}

// tokenAnswer is the body of GET /agent/voice/token.
type tokenAnswer struct {
	Token    string `json:"token"`
	Identity string `json:"identity"`
	// ExpiresAt is when the token stops working; the console fetches a
	// new one before (the SDK's tokenWillExpire).
	ExpiresAt time.Time `json:"expires_at"`
	// WrapUpSeconds is the countdown shown after a call.
	WrapUpSeconds int `json:"wrap_up_seconds"`
}

// Register adds GET TokenPath.
func (t *Tokens) Register(r interface {
	Add(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) *echo.Route
}) {
	r.Add(http.MethodGet, TokenPath, t.serve)
}

func (t *Tokens) serve(ec echo.Context) error {
	ec.Response().Header().Set("Cache-Control", "no-store")
	if t.auth == nil {
		return ec.JSON(http.StatusServiceUnavailable, map[string]string{"error": "softphone not available on this gateway"})
	}
	agent, err := t.auth(ec.Request())
	if err != nil || agent == "" {
		return ec.JSON(http.StatusUnauthorized, map[string]string{"error": "not authenticated"})
	}
	if !agentIDPattern.MatchString(agent) {
		return ec.JSON(http.StatusForbidden, map[string]string{"error": "this account cannot take calls"})
	}
	if t.keySID == "" {
		return ec.JSON(http.StatusServiceUnavailable, map[string]string{
			"error": "softphone not configured: set TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET"})
	}
	tok := jwt.CreateAccessToken(jwt.AccessTokenParams{
		AccountSid: t.accountSID, SigningKeySid: t.keySID, Secret: t.keySecret,
		Identity: agent, Ttl: t.ttl.Seconds(),
	})
	tok.AddGrant(&jwt.VoiceGrant{Incoming: jwt.Incoming{Allow: true}})
	s, err := tok.ToJwt()
	if err != nil {
		return ec.JSON(http.StatusInternalServerError, map[string]string{"error": "token not issued"})
	}
	return ec.JSON(http.StatusOK, tokenAnswer{Token: s, Identity: agent, ExpiresAt: t.now().Add(t.ttl).UTC(),
		WrapUpSeconds: int(t.wrapUp / time.Second)})
}
