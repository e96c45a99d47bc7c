package webchat

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// syncBuffer is a log sink tests read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (h *harness) availability(t *testing.T, origin string) (int, availabilityAnswer, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.http.URL+PathAvailability+"?queue=support", nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a availabilityAnswer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, a, res.Header
}

func TestAvailabilitySaysWhoAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		status Status
		want   availabilityAnswer
	}{
		{"agents online", Status{Open: true, AgentsOnline: 2}, availabilityAnswer{Chat: AvailOpen}},
		{"nobody online", Status{Open: true}, availabilityAnswer{Chat: AvailAway}},
		{"outside business hours", Status{Opens: "tomorrow at 09:00 PST", AgentsOnline: 1},
			availabilityAnswer{Chat: AvailClosed, Opens: "tomorrow at 09:00 PST"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *Config) { c.AllowedOrigins = []string{"https://shop.example"} })
			h.backend.mu.Lock()
			h.backend.status = tc.status
			h.backend.mu.Unlock()
			code, got, hdr := h.availability(t, "https://shop.example")
			if code != http.StatusOK || got != tc.want {
				t.Fatalf("got %d %+v, want %+v", code, got, tc.want)
			}
			if hdr.Get("Access-Control-Allow-Origin") != "https://shop.example" {
				t.Errorf("an allowed page cannot read the answer: ACAO %q", hdr.Get("Access-Control-Allow-Origin"))
			}
		})
	}
}

// A page on an origin not in AllowedOrigins learns it is refused before it
// shows a form, and the gateway logs that origin once, with the setting to
// change, however often its pages ask or dial.
func TestRefusedOriginIsToldAndLoggedOnce(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	h := newHarness(t, func(c *Config) {
		c.AllowedOrigins = []string{"https://shop.example"}
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	for range 3 {
		code, got, hdr := h.availability(t, "http://127.0.0.2:8000")
		if code != http.StatusForbidden || got.Chat != AvailRefused || !strings.Contains(got.Message, "allowed_origins") {
			t.Fatalf("refused page got %d %+v", code, got)
		}
		if hdr.Get("Access-Control-Allow-Origin") != "http://127.0.0.2:8000" {
			t.Fatal("the refused page cannot read why")
		}
		_, resp, err := websocket.DefaultDialer.Dial(h.wsURL, http.Header{"Origin": {"http://127.0.0.2:8000"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("socket from a refused origin: err %v, response %v", err, resp)
		}
	}
	if _, _, err := websocket.DefaultDialer.Dial(h.wsURL, http.Header{"Origin": {"http://other.example"}}); err == nil {
		t.Fatal("second refused origin accepted")
	}
	out := logs.String()
	if n := strings.Count(out, "origin=http://127.0.0.2:8000"); n != 1 {
		t.Errorf("refused origin logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "origin=http://other.example"); n != 1 {
		t.Errorf("second refused origin logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "channels.chat.allowed_origins") {
		t.Errorf("log does not name the setting:\n%s", out)
	}
	// The allowed site and the gateway's own pages are not refused.
	if code, got, _ := h.availability(t, "https://shop.example"); code != http.StatusOK || got.Chat != AvailOpen {
		t.Errorf("allowed origin: %d %+v", code, got)
	}
	if code, _, _ := h.availability(t, h.http.URL); code != http.StatusOK {
		t.Errorf("own origin: %d", code)
	}
}

// A customer whose offer was declined hears that they keep their place, and
// whether anyone else is online, instead of silence.
func TestOfferReturnedTellsTheVisitor(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	c := h.dial(t)
	c.send(map[string]any{"type": "hello"})
	c.await("welcome")
	c.send(map[string]any{"type": "message", "id": "f_00000001", "text": "hello?"})
	q := c.await("queue")
	conv := q["conversation"].(string)
	if q["nobody_online"] != nil {
		t.Fatalf("nobody_online with an agent online: %v", q)
	}
	h.backend.mu.Lock()
	h.backend.status = Status{Open: true}
	h.backend.mu.Unlock()
	if err := h.srv.OfferReturned(t.Context(), conv, "support"); err != nil {
		t.Fatal(err)
	}
	for {
		f := c.await("queue")
		if f["returned"] == true {
			if f["nobody_online"] != true || f["position"] != float64(2) {
				t.Fatalf("returned frame %v", f)
			}
			return
		}
	}
}
