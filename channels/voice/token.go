package voice

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/twilio/twilio-go/client/jwt"
)

// tokenAnswer is the body of GET /agent/voice/token.
type tokenAnswer struct {
	Token    string `json:"token"`
	Identity string `json:"identity"`
	// ExpiresAt is when the token stops working; the console fetches a
	// new one before (the SDK's tokenWillExpire).
	ExpiresAt time.Time `json:"expires_at"`
}

// token gives the signed-in agent's softphone a Voice access token whose
// identity is the agent id (the <Client> our connect URL dials) and which
// may receive calls only.
func (c *Channel) token(ec echo.Context) error {
	ec.Response().Header().Set("Cache-Control", "no-store")
	if c.auth == nil {
		return ec.JSON(http.StatusServiceUnavailable, map[string]string{"error": "softphone not available on this gateway"})
	}
	agent, err := c.auth(ec.Request())
	if err != nil || agent == "" {
		return ec.JSON(http.StatusUnauthorized, map[string]string{"error": "not authenticated"})
	}
	if !agentIDPattern.MatchString(agent) {
		return ec.JSON(http.StatusForbidden, map[string]string{"error": "this account cannot take calls"})
	}
	if c.cfg.APIKeySID == "" {
		return ec.JSON(http.StatusServiceUnavailable, map[string]string{
			"error": "softphone not configured: set TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET"})
	}
	now := c.now()
	ttl := c.cfg.TokenTTL
	if ttl < time.Hour {
		ttl = time.Hour // twilio-go never issues a shorter one
	}
	tok := jwt.CreateAccessToken(jwt.AccessTokenParams{
		AccountSid: c.creds.AccountSID, SigningKeySid: c.cfg.APIKeySID, Secret: c.cfg.APIKeySecret,
		Identity: agent, Ttl: ttl.Seconds(),
	})
	tok.AddGrant(&jwt.VoiceGrant{Incoming: jwt.Incoming{Allow: true}})
	s, err := tok.ToJwt()
	if err != nil {
		c.log.Error("voice: access token not signed", "agent", agent, "err", err)
		return ec.JSON(http.StatusInternalServerError, map[string]string{"error": "token not issued"})
	}
	return ec.JSON(http.StatusOK, tokenAnswer{Token: s, Identity: agent, ExpiresAt: now.Add(ttl).UTC()})
}
