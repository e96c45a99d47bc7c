package webchat

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/switchboard/switchboard/internal/conversation"
)

// The widget and the demo page are plain files served as they are: no build
// step. The only change made at startup is the configuration (and the
// stylesheet) written into widget.js, so the launcher is styled and knows
// its limits before it has talked to the server.
//
//go:embed assets/widget.js assets/widget.css assets/demo.html
var assets embed.FS

// configMarker is replaced in widget.js by a JSON object literal.
const configMarker = "/*SWITCHBOARD_CONFIG*/null"

type widgetConfig struct {
	Site      string `json:"site"`
	MaxLength int    `json:"maxLength"`
	Queue     string `json:"queue"`
	CSS       string `json:"css"`
	// MaxFile is the attachment limit in bytes, 0 when the chat takes no
	// files; Accept is the allow-list as a file input's accept attribute.
	// Both come from the conversation service, as the console's do.
	MaxFile int64  `json:"maxFile"`
	Accept  string `json:"accept,omitempty"`
}

func (s *Server) loadAssets() error {
	js, err := assets.ReadFile("assets/widget.js")
	if err != nil {
		return fmt.Errorf("webchat: widget: %w", err)
	}
	css, err := assets.ReadFile("assets/widget.css")
	if err != nil {
		return fmt.Errorf("webchat: widget: %w", err)
	}
	if bytes.Count(js, []byte(configMarker)) != 1 {
		return fmt.Errorf("webchat: widget.js must hold %s exactly once", configMarker)
	}
	// json.Marshal escapes <, > and & in strings, so nothing in the site
	// name or the stylesheet can end the script early.
	wc := widgetConfig{Site: s.cfg.SiteName, MaxLength: s.cfg.MaxMessageLength, Queue: s.cfg.DefaultQueue, CSS: string(css)}
	if s.deps.Files != nil {
		wc.MaxFile, wc.Accept = s.deps.Files.MaxAttachmentBytes(), conversation.AcceptList()
	}
	cfg, err := json.Marshal(wc)
	if err != nil {
		return fmt.Errorf("webchat: widget config: %w", err)
	}
	s.widget = bytes.Replace(js, []byte(configMarker), cfg, 1)
	sum := sha256.Sum256(s.widget)
	s.widgetETag = `"` + hex.EncodeToString(sum[:12]) + `"`
	s.demo, err = assets.ReadFile("assets/demo.html")
	if err != nil {
		return fmt.Errorf("webchat: demo: %w", err)
	}
	return nil
}

func (s *Server) serveWidget(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	// Short caching: embedding pages pick up a new version within minutes,
	// and the ETag makes the revalidation cheap.
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", s.widgetETag)
	h.Set("X-Content-Type-Options", "nosniff")
	// Pages on other origins load the script; a module-type or
	// crossorigin script tag needs the CORS header, a plain one ignores it.
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Header.Get("If-None-Match") == s.widgetETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(s.widget)
}

func (s *Server) serveDemo(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'")
	_, _ = w.Write(s.demo)
}
