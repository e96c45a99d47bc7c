package email

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/channel"
)

// The console's routes. They carry an agent's session, not a provider's
// signature, so they exist only when Deps.Authorize is set; the wiring
// routes them through the access rules.
const (
	// ThreadPath serves GET: the thread's subject, cc and every mail as
	// agents see it (sanitized HTML, text, quoted history apart); PUT: the
	// composer's cc list ({"cc": "a@x, b@y"}).
	ThreadPath = "/api/email/conversations/:id"
	// RawPath serves a mail's original, as text/plain, for "view original".
	RawPath = "/api/email/conversations/:id/raw/:mail"
)

// Thread is an email conversation as the console shows it.
type Thread struct {
	Subject string `json:"subject"`
	// ReplySubject is fixed: the composer shows it, replies carry it.
	ReplySubject string `json:"reply_subject"`
	Cc           string `json:"cc"`
	Mailbox      string `json:"mailbox"`
	Mails        []Mail `json:"mails"`
}

// Mail is one mail of a thread. HTML is sanitized; Text and Quoted are
// plain text for the console to render as text.
type Mail struct {
	ID        string `json:"id"`
	Direction string `json:"direction"` // in, out
	From      string `json:"from"`
	To        string `json:"to"`
	Cc        string `json:"cc,omitempty"`
	Subject   string `json:"subject"`
	Date      string `json:"date"`
	Text      string `json:"text"`
	Quoted    string `json:"quoted,omitempty"`
	HTML      string `json:"html,omitempty"`
	Problems  string `json:"problems,omitempty"`
	HasRaw    bool   `json:"has_raw"`
	// Attachments are served by the API's authenticated attachment route
	// (/api/v1/attachments/<stored_path>).
	Attachments []channel.Attachment `json:"attachments,omitempty"`
}

// Register adds the console routes when Deps.Authorize is set. Mail comes
// in over IMAP, so the channel has no public webhook.
func (c *Channel) Register(r channel.Routes) {
	if c.auth == nil {
		return
	}
	r.Add(http.MethodGet, ThreadPath, c.serveThread)
	r.Add(http.MethodPut, ThreadPath, c.serveSetCc)
	r.Add(http.MethodGet, RawPath, c.serveRaw)
}

func (c *Channel) serveThread(e echo.Context) error {
	id := e.Param("id")
	if err := c.auth(e, id); err != nil {
		return err
	}
	t, err := c.Thread(e.Request().Context(), id)
	if err != nil {
		return err
	}
	e.Response().Header().Set("Cache-Control", "no-store")
	return e.JSON(http.StatusOK, t)
}

func (c *Channel) serveSetCc(e echo.Context) error {
	id := e.Param("id")
	if err := c.auth(e, id); err != nil {
		return err
	}
	var body struct {
		Cc string `json:"cc"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(e.Response(), e.Request().Body, 8<<10))
	if err := dec.Decode(&body); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "body must be {\"cc\": \"addresses\"}")
	}
	if err := c.SetCc(e.Request().Context(), id, body.Cc); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	return e.NoContent(http.StatusNoContent)
}

func (c *Channel) serveRaw(e echo.Context) error {
	id := e.Param("id")
	if err := c.auth(e, id); err != nil {
		return err
	}
	h, err := c.rdb.HMGet(e.Request().Context(), c.k.msg(e.Param("mail")), "conv", "raw").Result()
	if err != nil {
		return err
	}
	if conv, _ := h[0].(string); conv != id {
		return echo.ErrNotFound
	}
	raw, _ := h[1].(string)
	if raw == "" {
		return echo.ErrNotFound
	}
	// text/plain with nosniff and a sandbox: the original is shown, never run.
	e.Response().Header().Set("X-Content-Type-Options", "nosniff")
	e.Response().Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	e.Response().Header().Set("Cache-Control", "no-store")
	return e.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(strings.ToValidUTF8(raw, "\uFFFD")))
}

// Thread is the conversation's mails as agents see them, oldest first.
func (c *Channel) Thread(ctx context.Context, convID string) (Thread, error) {
	th, err := c.rdb.HGetAll(ctx, c.k.conv(convID)).Result()
	if err != nil {
		return Thread{}, fmt.Errorf("email: thread %s: %w", convID, err)
	}
	ids, err := c.rdb.ZRange(ctx, c.k.convMsgs(convID), 0, 199).Result()
	if err != nil {
		return Thread{}, fmt.Errorf("email: thread %s: %w", convID, err)
	}
	if len(th) == 0 && len(ids) == 0 {
		return Thread{}, echo.ErrNotFound
	}
	t := Thread{Subject: th["subject"], ReplySubject: replySubject(th["subject"]), Cc: th["cc"], Mailbox: th["mailbox"], Mails: []Mail{}}
	for _, id := range ids {
		h, err := c.rdb.HGetAll(ctx, c.k.msg(id)).Result()
		if err != nil {
			return Thread{}, fmt.Errorf("email: mail %s: %w", id, err)
		}
		m := Mail{ID: id, Direction: h["dir"], From: h["from"], To: h["to"], Cc: h["cc"], Subject: h["subject"],
			Date: h["date"], Problems: h["problems"], HasRaw: h["raw"] != ""}
		if h["attachments"] != "" {
			_ = json.Unmarshal([]byte(h["attachments"]), &m.Attachments)
		}
		m.Text, m.Quoted = SplitQuoted(strings.TrimSpace(strings.ReplaceAll(h["text"], "\r\n", "\n")))
		if h["html"] != "" {
			fresh, quoted := FoldHTMLQuote(h["html"])
			m.HTML = c.san.HTML(fresh)
			if m.Text == "" {
				m.Text, m.Quoted = SplitQuoted(c.san.Text(h["html"]))
			}
			if m.Quoted == "" && quoted != "" {
				m.Quoted = c.san.Text(quoted)
			}
		}
		t.Mails = append(t.Mails, m)
	}
	return t, nil
}

// SetCc replaces the people copied on the thread's next replies.
func (c *Channel) SetCc(ctx context.Context, convID, cc string) error {
	cc = strings.TrimSpace(cc)
	if cc != "" {
		l := splitAddrs(cc)
		if l == nil {
			return errors.New("cc: not a list of addresses")
		}
		if len(l) > 20 {
			return errors.New("cc: at most 20 addresses")
		}
		cc = addrList(l)
	}
	if err := c.rdb.HSet(ctx, c.k.conv(convID), "cc", cc).Err(); err != nil {
		return fmt.Errorf("email: set cc %s: %w", convID, err)
	}
	return nil
}
