package webchat

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
)

// PathAvailability is where the widget asks, before it shows anything,
// whether this page may use the chat and whether anyone answers now.
const PathAvailability = "/chat/availability"

// Chat states of the availability answer.
const (
	// AvailOpen: agents are online; a person answers live.
	AvailOpen = "open"
	// AvailAway: within business hours but nobody is online; the widget
	// offers to leave a message and an email address.
	AvailAway = "away"
	// AvailClosed: outside the queue's business hours; the widget says when
	// they open and offers to leave a message.
	AvailClosed = "closed"
	// AvailRefused: the page's origin is not in AllowedOrigins; the widget
	// stays hidden.
	AvailRefused = "refused"
)

// availabilityAnswer is the JSON of GET /chat/availability.
type availabilityAnswer struct {
	Chat  string `json:"chat"`
	Opens string `json:"opens,omitempty"`
	// Message says why a refused page gets no chat, for the site's
	// developer reading the browser console.
	Message string `json:"message,omitempty"`
}

// serveAvailability answers whether the calling page may chat and whether
// someone answers now. It answers cross-origin reads (the widget runs on
// other sites) and, for a refused origin, says so readably instead of
// failing the request opaquely: the widget must know before it shows a
// form, or the customer would write into a socket that is always refused.
func (s *Server) serveAvailability(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Vary", "Origin")
	if o := r.Header.Get("Origin"); o != "" {
		// No cookies are involved; any page may read the answer, which
		// says nothing beyond whether chat works for it.
		h.Set("Access-Control-Allow-Origin", o)
	}
	if _, ok := s.originAllowed(r); !ok {
		s.logRefused(r)
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(availabilityAnswer{Chat: AvailRefused,
			Message: "chat is not available on this site: its origin is not in channels.chat.allowed_origins"})
		return
	}
	ans := availabilityAnswer{Chat: AvailOpen}
	if s.deps.Availability != nil {
		ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
		defer cancel()
		st, err := s.deps.Availability.Availability(ctx, s.queueFor(r.URL.Query().Get("queue")))
		switch {
		case err != nil:
			// Unknown: offer the live chat, which still queues the
			// customer honestly; the place in line follows.
			s.log.Warn("webchat: availability", "err", err)
		case !st.Open:
			ans = availabilityAnswer{Chat: AvailClosed, Opens: st.Opens}
		case st.AgentsOnline == 0:
			ans = availabilityAnswer{Chat: AvailAway}
		}
	}
	_ = json.NewEncoder(w).Encode(ans)
}

// maxRefusedLogged bounds the origins remembered as logged, so a stream of
// made-up origins cannot grow memory; past it, refusals are not logged.
const maxRefusedLogged = 1000

// refusedOrigins remembers which refused origins were logged already.
type refusedOrigins struct {
	mu   sync.Mutex
	seen map[string]bool
}

// logRefused logs a refused page origin once per origin, naming the
// setting that would allow it: an operator who embedded the widget on a
// new site otherwise sees nothing but customers who never get through.
func (s *Server) logRefused(r *http.Request) {
	o := truncate(r.Header.Get("Origin"), 200)
	s.refused.mu.Lock()
	first := !s.refused.seen[o] && len(s.refused.seen) < maxRefusedLogged
	if first {
		if s.refused.seen == nil {
			s.refused.seen = map[string]bool{}
		}
		s.refused.seen[o] = true
	}
	s.refused.mu.Unlock()
	if first {
		s.log.Warn("webchat: refused a page whose origin is not allowed; add it to channels.chat.allowed_origins to let it embed the chat",
			"origin", o, "setting", "channels.chat.allowed_origins")
	}
}
