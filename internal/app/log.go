package app

import (
	"io"
	"log/slog"
	"os"

	"golang.org/x/term"
)

// NewLogger returns a text logger on a terminal and a JSON logger otherwise,
// unless format forces one.
func NewLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
