package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
	"github.com/switchboard/switchboard/internal/httpserver"
)

// listConversations answers one page of the conversations the caller may
// see; the desk decides which (an agent's own, a supervisor's all).
func (h *Handler) listConversations(c echo.Context) error {
	limit, err := intParam(c, "limit")
	if err != nil {
		return h.fail(c, err)
	}
	q := conversation.ListQuery{
		States:     conversation.ParseStates(c.QueryParam("state")),
		Queue:      c.QueryParam("queue"),
		Channel:    channel.Name(c.QueryParam("channel")),
		AgentID:    c.QueryParam("agent"),
		CustomerID: c.QueryParam("customer"),
		Cursor:     c.QueryParam("cursor"),
		Limit:      int(min(limit, conversation.MaxListLimit+1)),
	}
	if q.Channel != "" && !q.Channel.Valid() {
		return h.fail(c, &conversation.FieldError{Field: "channel", Reason: "unknown channel " + strconv.Quote(string(q.Channel))})
	}
	if s := c.QueryParam("updated_since"); s != "" {
		if q.UpdatedSince, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return h.fail(c, &conversation.FieldError{Field: "updated_since", Reason: "must be an RFC 3339 time"})
		}
	}
	page, err := h.desk.ListConversations(c.Request().Context(), h.who(c), q)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, page)
}

func (h *Handler) getConversation(c echo.Context) error {
	conv, err := h.desk.Conversation(c.Request().Context(), h.who(c), c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, conv)
}

// transcriptPage is one page of a transcript; a client passes Next as
// ?after= to continue, and keeps it to resume after a reconnect.
// transcriptPage is the answer of listMessages, which writes it piece by
// piece.
type transcriptPage struct {
	Entries []conversation.Entry `json:"entries"`
	Next    string               `json:"next"`
}

// transcriptBatch is how many entries listMessages reads from Redis at a
// time: a page of 500 entries of 60 KB is streamed out batch by batch
// instead of being held whole.
const transcriptBatch = 50

// listMessages answers {"entries":[…],"next":"<id>"}, written as the
// entries are read. The first read is the access check, so a refusal is
// still a plain error answer; a failure after the first batch can only cut
// the body short, which the client sees as invalid JSON and asks again.
func (h *Handler) listMessages(c echo.Context) error {
	limit, err := intParam(c, "limit")
	if err != nil {
		return h.fail(c, err)
	}
	ctx, who, convID := c.Request().Context(), h.who(c), c.Param("id")
	left := int(limit)
	if left <= 0 {
		left = 100
	}
	left = min(left, 500)
	next := c.QueryParam("after")
	read := func() ([]conversation.Entry, error) {
		return h.desk.Entries(ctx, who, convID, next, min(left, transcriptBatch))
	}
	batch, err := read()
	if err != nil {
		return h.fail(c, err)
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	if _, err := io.WriteString(w, `{"entries":[`); err != nil {
		return nil // the client left
	}
	for first := true; ; {
		for _, e := range batch {
			if !first {
				_, _ = io.WriteString(w, ",")
			}
			first = false
			if err := enc.Encode(e); err != nil {
				return nil
			}
			next = e.ID
		}
		left -= len(batch)
		if left <= 0 || len(batch) < transcriptBatch {
			break
		}
		if batch, err = read(); err != nil {
			h.log.Warn("api: transcript read failed mid-answer", "conv", convID, "err", err)
			return nil
		}
	}
	tail, _ := json.Marshal(next)
	_, _ = io.WriteString(w, `],"next":`+string(tail)+"}\n")
	return nil
}

type replyBody struct {
	Text        string               `json:"text"`
	Attachments []channel.Attachment `json:"attachments"`
}

func (h *Handler) reply(c echo.Context) error {
	var b replyBody
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	// Only files uploaded through this API may be attached; provider URLs
	// are for inbound media.
	for _, a := range b.Attachments {
		if a.StoredPath == "" || a.URL != "" {
			return h.fail(c, &conversation.FieldError{Field: "attachments", Reason: "attach files uploaded to /conversations/{id}/attachments by stored_path"})
		}
	}
	e, err := h.desk.Reply(c.Request().Context(), h.who(c), c.Param("id"), b.Text, b.Attachments)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusAccepted, e)
}

type noteBody struct {
	Text string `json:"text"`
}

func (h *Handler) note(c echo.Context) error {
	var b noteBody
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	e, err := h.desk.Note(c.Request().Context(), h.who(c), c.Param("id"), b.Text)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusCreated, e)
}

// recoveryNote records what was done for a customer in service recovery
// (the banner's note); the answer is the banner as updated.
func (h *Handler) recoveryNote(c echo.Context) error {
	var b noteBody
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	banner, err := h.desk.RecoveryNote(c.Request().Context(), h.who(c), c.Param("id"), b.Text)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, banner)
}

type closeBody struct {
	Disposition string `json:"disposition"`
}

func (h *Handler) closeConversation(c echo.Context) error {
	var b closeBody
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	conv, err := h.desk.Close(c.Request().Context(), h.who(c), c.Param("id"), b.Disposition)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, conv)
}

type transferBody struct {
	Queue   string `json:"queue"`
	AgentID string `json:"agent_id"`
}

func (h *Handler) transfer(c echo.Context) error {
	var b transferBody
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	conv, err := h.desk.Transfer(c.Request().Context(), h.who(c), c.Param("id"), b.Queue, b.AgentID)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, conv)
}

// upload stores one multipart file ("file") for a later reply. The route's
// body limit (Register) cuts the request off past the per-file limit plus
// room for the multipart framing; the service refuses a file over the
// limit itself, and one not on its allow-list of types (415).
func (h *Handler) upload(c echo.Context) error {
	if _, err := h.desk.Conversation(c.Request().Context(), h.who(c), c.Param("id")); err != nil {
		return h.fail(c, err)
	}
	mr, err := c.Request().MultipartReader()
	if err != nil {
		return h.fail(c, &conversation.FieldError{Field: "file", Reason: "expected a multipart/form-data body"})
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return h.fail(c, err)
			}
			return h.fail(c, &conversation.FieldError{Field: "file", Reason: "no file part in the body"})
		}
		if part.FormName() != "file" {
			continue
		}
		a, err := h.svc.StoreUpload(c.Request().Context(), part.FileName(), part)
		if err != nil {
			return h.fail(c, err)
		}
		return c.JSON(http.StatusCreated, a)
	}
}

func (h *Handler) getMessage(c echo.Context) error {
	m, err := h.desk.MessageRecord(c.Request().Context(), h.who(c), c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, m)
}

// download serves a stored attachment to an authenticated caller, never
// sniffed: images (by the allow-list, which upload checked) inline so the
// console can preview them, every other file as a download, so a
// customer's HTML file cannot run in the console's origin.
func (h *Handler) download(c echo.Context) error {
	p := strings.TrimPrefix(path.Clean("/"+c.Param("*")), "/")
	f, info, err := h.svc.OpenAttachment(c.Request().Context(), p)
	if err != nil {
		return h.fail(c, err)
	}
	defer f.Close()
	t, ok := conversation.FileTypeOf(p)
	httpserver.ServeAttachment(c.Response(), c.Request(), conversation.FileName(p), t.ContentType, ok && t.Image, info.ModTime, f)
	return nil
}
