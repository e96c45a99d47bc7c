package agentui

import (
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/realtime"
)

//go:embed static
var staticFiles embed.FS

// Defaults applied to zero fields of Config.
const (
	DefaultMaxFrameBytes     = 32 << 10
	DefaultMaxTextBytes      = 16 << 10
	DefaultRequestTimeout    = 10 * time.Second
	DefaultHeartbeatInterval = 20 * time.Second
	DefaultFrameRate         = 20
	DefaultFrameBurst        = 60
)

// Config builds a Handler. Every zero field takes the default in its comment.
type Config struct {
	// Backend is the core; required.
	Backend Backend
	// Hub holds the console websockets; required.
	Hub *realtime.Hub
	// Authenticate returns the account behind a request (session cookie or
	// bearer token) or an error for an anonymous one; required. The wiring
	// passes auth.Check converted to a desk.Actor.
	Authenticate func(*http.Request) (desk.Actor, error)
	// AllowedOrigins lists the page origins allowed to open the console
	// websocket. Empty: only the request's own host.
	AllowedOrigins []string
	// MaxFrameBytes is the largest client frame the protocol reads; a larger
	// one is answered with an error frame ("too_large") and dropped. Frames
	// above the hub's ReadLimit close the socket with 1009 instead.
	// Zero: 32 KiB.
	MaxFrameBytes int
	// MaxTextBytes caps a reply or note. Zero: 16 KiB.
	MaxTextBytes int
	// RequestTimeout bounds each Backend call made for a client frame.
	// Zero: 10 s.
	RequestTimeout time.Duration
	// HeartbeatInterval is how often consoles are told to send heartbeat.
	// Zero: 20 s.
	HeartbeatInterval time.Duration
	// FrameRate is how many client frames per second one connection may
	// send on average, FrameBurst how many at once; frames beyond them get
	// an error frame ("rate_limited") and are dropped, so a looping
	// console cannot hammer the core. Zero: 20 per second, bursts of 60.
	FrameRate  float64
	FrameBurst int
	// Logger receives backend failures. Nil discards them.
	Logger *slog.Logger
}

// Handler serves the agent console's page and websocket.
type Handler struct {
	cfg  Config
	site site // embedded files have no modification time; site has ETags
}

// New checks cfg and builds a Handler.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Backend == nil:
		return nil, errors.New("agentui: Config.Backend is required")
	case cfg.Hub == nil:
		return nil, errors.New("agentui: Config.Hub is required")
	case cfg.Authenticate == nil:
		return nil, errors.New("agentui: Config.Authenticate is required")
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if cfg.MaxTextBytes <= 0 {
		cfg.MaxTextBytes = DefaultMaxTextBytes
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if cfg.FrameRate <= 0 {
		cfg.FrameRate = DefaultFrameRate
	}
	if cfg.FrameBurst <= 0 {
		cfg.FrameBurst = DefaultFrameBurst
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pages, err := newSite(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, site: pages}, nil
}

// Register adds the console routes: GET /agent (redirect), GET /agent/ and
// its assets, and GET /agent/ws. /supervisor/ stays free for the
// supervisor view.
func (h *Handler) Register(e *echo.Echo) {
	e.GET("/agent", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, "/agent/")
	})
	e.GET("/agent/ws", h.serveWS)
	h.site.register(e, "/agent/")
}

// setPageHeaders makes the browser refuse anything but our own scripts and
// styles: customer text is always set as text, and the policy makes a slip
// in that rule a visible bug instead of a script running in an agent's
// session. Assets are small and change with each release, hence no-cache
// (revalidate) rather than long-lived caching without a build step to
// fingerprint names.
func setPageHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "+
		"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "+
		"form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cache-Control", "no-cache")
}

// authenticate answers for a console or supervisor websocket before the
// upgrade, so the page gets a plain status it can act on: 401 sign in
// again, 503 the session could not be checked now (keep it, retry), 403 an
// API token, which is not a person and has no console.
func authenticate(c echo.Context, cfg Config) (desk.Actor, error) {
	p, err := cfg.Authenticate(c.Request())
	switch {
	case errors.Is(err, ErrUnauthenticated), err == nil && p.AccountID == "":
		return p, echo.NewHTTPError(http.StatusUnauthorized, "login required")
	case err != nil:
		cfg.Logger.Warn("agentui: cannot check the session; answering 503 so the console retries", "err", err)
		c.Response().Header().Set(echo.HeaderRetryAfter, "1")
		return p, echo.NewHTTPError(http.StatusServiceUnavailable, "sign-in check unavailable, retry")
	case p.Token:
		return p, echo.NewHTTPError(http.StatusForbidden, "the console needs a signed-in account; API tokens use the REST API")
	}
	return p, nil
}

// serveWS authenticates the request, then upgrades it and starts a
// session.
func (h *Handler) serveWS(c echo.Context) error {
	p, err := authenticate(c, h.cfg)
	if err != nil {
		return err
	}
	s := newSession(h, p)
	conn, err := h.cfg.Hub.Upgrade(c.Response(), c.Request(), realtime.UpgradeOptions{
		ConnOptions: realtime.ConnOptions{
			OnMessage: s.onMessage,
			OnGap:     s.onGap,
			Label:     AgentTopic(p.AccountID),
		},
		AllowedOrigins: h.cfg.AllowedOrigins,
	})
	if err != nil {
		// Upgrade has answered (403 for a bad Origin, 503 when stopping, 400
		// for a non-websocket request); nothing more to write.
		h.cfg.Logger.Debug("agentui: upgrade refused", "agent", p.AccountID, "err", err)
		return nil
	}
	s.start(conn)
	return nil
}
