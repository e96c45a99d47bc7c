package realtime

import (
	"fmt"
	"net/http"
	"net/url"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// UpgradeOptions configure one websocket upgrade.
type UpgradeOptions struct {
	ConnOptions
	// AllowedOrigins lists the origins ("https://console.example.com")
	// whose pages may open this socket. Empty allows only the gateway's own
	// origin: the request's host with the scheme Config.PublicURL gives it
	// (else the request's own scheme). A request without an Origin header is not from a browser page
	// and is allowed: cross-site websocket hijacking needs a browser, and
	// browsers always send Origin.
	AllowedOrigins []string
	// ResponseHeader is added to the 101 response (e.g. a Set-Cookie).
	ResponseHeader http.Header
}

// Upgrade checks the Origin, upgrades the request to a websocket and
// attaches it to the hub. Authentication is the caller's job and comes
// first. On a refused Origin it writes 403 and returns ErrOriginRejected;
// while shutting down it writes 503 and returns ErrShuttingDown.
func (h *Hub) Upgrade(w http.ResponseWriter, r *http.Request, opts UpgradeOptions) (*Conn, error) {
	if !originAllowed(r, opts.AllowedOrigins, h.publicURL) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return nil, fmt.Errorf("%w: %q", ErrOriginRejected, r.Header.Get("Origin"))
	}
	h.mu.RLock()
	stopping := h.stopping
	h.mu.RUnlock()
	if stopping {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return nil, ErrShuttingDown
	}
	up := websocket.Upgrader{
		// Clients send small frames (a chat line, an accept); a larger
		// one is read through the buffer in pieces. Ten thousand idle
		// visitors hold ten thousand of these.
		ReadBufferSize:  256,
		WriteBufferSize: 4096,
		WriteBufferPool: h.bufPool,
		// The Origin was checked above, with our own rules and status.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	ws, err := up.Upgrade(w, r, opts.ResponseHeader)
	if err != nil {
		// The upgrader has already answered with an HTTP error.
		return nil, fmt.Errorf("realtime: upgrade: %w", err)
	}
	return h.Attach(newWSTransport(ws, h.cfg), opts.ConnOptions)
}

// originAllowed checks scheme and host of the Origin: a host alone would
// let an http page speak for the https gateway.
func originAllowed(r *http.Request, allowed []string, public *url.URL) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	got := strings.ToLower(u.Scheme + "://" + u.Host)
	if len(allowed) == 0 {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if public != nil && strings.EqualFold(public.Host, r.Host) {
			scheme = public.Scheme
		}
		return got == strings.ToLower(scheme+"://"+r.Host)
	}
	for _, a := range allowed {
		if strings.ToLower(strings.TrimRight(a, "/")) == got {
			return true
		}
	}
	return false
}

// busyRetryAfter is what a refused client is told to wait before trying
// again.
const busyRetryAfter = 5 * time.Second

// Admit reports whether the gateway takes one more connection: it returns
// ErrBusy once Config.MaxConns connections are open or the heap passed
// Config.MaxMemoryBytes. Protocols call it before upgrading a client that
// may be turned away (a chat visitor), never for one that must get in (an
// agent's console).
func (h *Hub) Admit() error {
	if max := h.cfg.MaxConns; max > 0 && h.Len() >= max {
		return fmt.Errorf("%w: %d connections open", ErrBusy, max)
	}
	if max := h.cfg.MaxMemoryBytes; max > 0 {
		if heap := h.heapBytes(); heap > max {
			return fmt.Errorf("%w: heap %d MB over %d MB", ErrBusy, heap>>20, max>>20)
		}
	}
	return nil
}

// RefuseBusy answers an HTTP request the gateway has no room for: 503
// with Retry-After and a short "busy, try again" text.
func RefuseBusy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(busyRetryAfter/time.Second)))
	http.Error(w, "busy, try again in a few seconds", http.StatusServiceUnavailable)
}

// heapBytes is the live Go heap, read from runtime/metrics at most every
// 100 ms: cheap enough for every upgrade, unlike ReadMemStats.
func (h *Hub) heapBytes() uint64 {
	now := time.Now().UnixNano()
	if last := h.heapAt.Load(); now-last < int64(100*time.Millisecond) {
		return h.heap.Load()
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	var v uint64
	if s[0].Value.Kind() == metrics.KindUint64 {
		v = s[0].Value.Uint64()
	}
	h.heap.Store(v)
	h.heapAt.Store(now)
	return v
}
