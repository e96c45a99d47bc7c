package webchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/httpserver"
)

// PathFiles is where a visitor uploads a file (POST) and opens one of
// their conversation's files (GET, by a signed link the server hands out).
const PathFiles = "/chat/files"

// MaxFilesPerMessage bounds the files one message frame attaches.
const MaxFilesPerMessage = 5

// uploadSlack is what an upload may add to its file: the multipart
// boundaries, part headers and the token and conversation fields.
const uploadSlack = 16 << 10

// maxUploadsAtOnce bounds the uploads one gateway stores at a time, so a
// burst of large files cannot take every connection to the store; the
// rest are told to try again.
const maxUploadsAtOnce = 16

// Error codes of an upload's JSON answer ({"code", "error", "limit"}).
const (
	UploadUnauthorized = "unauthorized"     // 401: no or a bad visitor token
	UploadNoChat       = "no_chat"          // 404: not this visitor's open conversation
	UploadTooLarge     = "too_large"        // 413: over the per-file limit ("limit" says it)
	UploadWrongType    = "unsupported_type" // 415: not on the allow-list, or not what its name says
	UploadBad          = "bad_request"      // 400: not a multipart form with token, conversation, file
	UploadUnavailable  = "unavailable"      // 503: try again shortly
)

// uploadAnswer is the JSON of a stored upload: ID goes into the message
// frame's files.
type uploadAnswer struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

type uploadError struct {
	Code  string `json:"code"`
	Error string `json:"error"`
	Limit int64  `json:"limit,omitempty"`
}

// fileFrame is one file of a message frame as the widget shows it: a link
// through PathFiles that only this conversation's visitor was given.
type fileFrame struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// URL is relative to the gateway (the widget prefixes its origin);
	// empty for a file held by reference only, shown by name.
	URL string `json:"url,omitempty"`
	// Image: the file may be shown inline as a preview.
	Image bool `json:"image,omitempty"`
}

// filesOf are the frame files of a message of convID.
func (s *Server) filesOf(convID string, atts []channel.Attachment) []fileFrame {
	if len(atts) == 0 {
		return nil
	}
	out := make([]fileFrame, 0, len(atts))
	for _, a := range atts {
		f := fileFrame{Name: a.Name, ContentType: a.ContentType, Size: a.Size}
		if a.StoredPath != "" && s.deps.Files != nil {
			f.URL = PathFiles + "?" + s.tokens.fileQuery(convID, a.StoredPath)
			t, ok := conversation.FileTypeOf(a.StoredPath)
			f.Image = ok && t.Image
		}
		out = append(out, f)
	}
	return out
}

// setCORS lets an allowed page read the answer; false when the page's
// origin is refused (answered already).
func (s *Server) setCORS(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Set("Vary", "Origin")
	if _, ok := s.originAllowed(r); !ok {
		s.logRefused(r)
		writeUploadError(w, http.StatusForbidden, uploadError{Code: UploadUnauthorized, Error: "chat is not available on this site"})
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
	}
	return true
}

// serveUploadOptions answers the browser's preflight of an upload that
// reports its progress.
func (s *Server) serveUploadOptions(w http.ResponseWriter, r *http.Request) {
	if !s.setCORS(w, r) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func writeUploadError(w http.ResponseWriter, status int, e uploadError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// serveUpload stores one file of a visitor for their open conversation.
// The body is a multipart form whose fields come in this order: token (the
// visitor token; kept out of the URL and so out of access logs),
// conversation (the id the widget is in), file. The body is capped before
// anything is read, the token and the conversation are checked before the
// file is, and the file is stored through the attachment store with the
// console's one size limit and type allow-list. The answer's id goes into
// a message frame, which adds the file to the transcript.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	if !s.setCORS(w, r) {
		return
	}
	if s.deps.Files == nil {
		writeUploadError(w, http.StatusNotFound, uploadError{Code: UploadNoChat, Error: "this chat takes no files"})
		return
	}
	limit := s.deps.Files.MaxAttachmentBytes()
	tooLarge := uploadError{Code: UploadTooLarge, Limit: limit,
		Error: fmt.Sprintf("the file is larger than the limit of %d bytes", limit)}
	if r.ContentLength > limit+uploadSlack {
		writeUploadError(w, http.StatusRequestEntityTooLarge, tooLarge)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+uploadSlack)
	select {
	case s.uploads <- struct{}{}:
		defer func() { <-s.uploads }()
	default:
		writeUploadError(w, http.StatusServiceUnavailable, uploadError{Code: UploadUnavailable, Error: "busy; try again shortly"})
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		writeUploadError(w, http.StatusBadRequest, uploadError{Code: UploadBad, Error: "expected a multipart/form-data body"})
		return
	}
	token, err := formValue(mr, "token", 300)
	if err != nil {
		s.uploadFailed(w, err, tooLarge)
		return
	}
	visitor, err := s.tokens.Verify(token)
	if err != nil {
		writeUploadError(w, http.StatusUnauthorized, uploadError{Code: UploadUnauthorized, Error: "invalid visitor token"})
		return
	}
	convID, err := formValue(mr, "conversation", 128)
	if err != nil {
		s.uploadFailed(w, err, tooLarge)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
	defer cancel()
	// A visitor attaches only to their own open conversation: any other
	// id, someone else's included, is not found, so ids cannot be probed.
	sess, ok, err := s.deps.Visitors.Current(ctx, visitor)
	if err != nil {
		s.log.Warn("webchat: upload: current conversation", "visitor", visitor, "err", err)
		writeUploadError(w, http.StatusServiceUnavailable, uploadError{Code: UploadUnavailable, Error: "try again shortly"})
		return
	}
	if !ok || sess.ConversationID != convID || !openState(sess.State) {
		writeUploadError(w, http.StatusNotFound, uploadError{Code: UploadNoChat, Error: "no open chat with that id"})
		return
	}
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "file" || part.FileName() == "" {
		s.uploadFailed(w, fmt.Errorf("%w: a file part after conversation", errBadUpload), tooLarge)
		return
	}
	// The upload's own context: a slow store is bounded by the request,
	// not by the 10 s meant for one Redis call.
	a, err := s.deps.Files.StoreUpload(r.Context(), part.FileName(), part)
	if err != nil {
		s.uploadFailed(w, err, tooLarge)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(uploadAnswer{ID: s.tokens.uploadID(visitor, convID, a.StoredPath, a.Size),
		Name: a.Name, ContentType: a.ContentType, Size: a.Size})
}

var errBadUpload = errors.New("bad upload")

// uploadFailed answers an upload that could not be stored with what the
// visitor can do about it.
func (s *Server) uploadFailed(w http.ResponseWriter, err error, tooLarge uploadError) {
	var mbe *http.MaxBytesError
	var te *conversation.TypeError
	switch {
	case errors.As(err, &mbe), errors.Is(err, conversation.ErrTooLarge):
		writeUploadError(w, http.StatusRequestEntityTooLarge, tooLarge)
	case errors.As(err, &te):
		writeUploadError(w, http.StatusUnsupportedMediaType, uploadError{Code: UploadWrongType, Error: te.Reason})
	case errors.Is(err, errBadUpload), errors.Is(err, multipart.ErrMessageTooLarge), errors.Is(err, io.ErrUnexpectedEOF):
		writeUploadError(w, http.StatusBadRequest, uploadError{Code: UploadBad, Error: err.Error()})
	default:
		s.log.Warn("webchat: upload", "err", err)
		writeUploadError(w, http.StatusServiceUnavailable, uploadError{Code: UploadUnavailable, Error: "the file was not stored; try again"})
	}
}

// formValue reads the next part, which must be the field name, of at most
// max bytes.
func formValue(mr *multipart.Reader, name string, max int) (string, error) {
	part, err := mr.NextPart()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", err
		}
		return "", fmt.Errorf("%w: fields token, conversation and file, in this order", errBadUpload)
	}
	defer part.Close()
	if part.FormName() != name || part.FileName() != "" {
		return "", fmt.Errorf("%w: field %s expected, got %q", errBadUpload, name, truncate(part.FormName(), 32))
	}
	b, err := io.ReadAll(io.LimitReader(part, int64(max)+1))
	if err != nil {
		return "", fmt.Errorf("%w: field %s: %w", errBadUpload, name, err)
	}
	if len(b) > max {
		return "", fmt.Errorf("%w: field %s too long", errBadUpload, name)
	}
	return string(b), nil
}

func openState(state string) bool {
	return state == StateQueued || state == StateOffered || state == StateActive
}

// serveFile answers a download link the server gave the conversation's
// visitor (Tokens.fileQuery): images inline so the widget can show them,
// every other file as a download, never sniffed.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	if s.deps.Files == nil {
		http.NotFound(w, r)
		return
	}
	key, err := s.tokens.checkFile(r.URL.Query())
	if errors.Is(err, errLinkExpired) {
		http.Error(w, "this link has expired; open the chat again for a fresh one", http.StatusForbidden)
		return
	}
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	f, info, err := s.deps.Files.OpenAttachment(r.Context(), key)
	if errors.Is(err, conversation.ErrNotFound) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if err != nil {
		s.log.Warn("webchat: open file", "err", err)
		http.Error(w, "try again shortly", http.StatusServiceUnavailable)
		return
	}
	defer f.Close()
	t, ok := conversation.FileTypeOf(key)
	httpserver.ServeAttachment(w, r, conversation.FileName(key), t.ContentType, ok && t.Image, info.ModTime, f)
}
