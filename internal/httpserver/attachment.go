package httpserver

import (
	"io"
	"mime"
	"net/http"
	"time"
)

// ServeAttachment answers with a stored file a customer or an agent
// uploaded, in the one way every route that serves them must: never
// sniffed, in a sandbox that runs nothing, and as a download unless it is
// an image (inline: true), which is served as its own type so a page can
// show it. Every other file goes out as application/octet-stream, so a
// customer's document cannot render in our origin. name is the sanitised
// file name offered to the browser.
func ServeAttachment(w http.ResponseWriter, r *http.Request, name, contentType string, inline bool, modTime time.Time, f io.ReadSeeker) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	disposition := "attachment"
	if inline {
		disposition = "inline"
		h.Set("Content-Type", contentType)
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	http.ServeContent(w, r, "", modTime, f)
}
