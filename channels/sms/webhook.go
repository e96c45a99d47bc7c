package sms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/channel"
)

// emptyTwiML tells Twilio we reply later (or not at all) through the REST
// API: answering in TwiML would bypass the opt-out check and the record.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// ackTimeout bounds one acknowledgement: estimate, send (with retries) and
// promise record.
const ackTimeout = 30 * time.Second

// readForm parses the body the signature middleware already read and
// checked; the form is taken from the body only, never from the query.
func readForm(c echo.Context) (url.Values, error) {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(string(body))
}

// handleInbound is Twilio's inbound message webhook. By the time it runs,
// size and signature are checked. It answers only after the Receiver has
// stored the message, so a 200 means the message is durable; everything
// slow (estimate, acknowledgement) happens after the answer.
func (c *Channel) handleInbound(ec echo.Context) error {
	form, err := readForm(ec)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "malformed form body")
	}
	in, err := parseInbound(form, c.creds.AccountSID, c.now())
	if errors.Is(err, errOtherAccount) {
		c.log.Warn("sms: inbound webhook for another Twilio account refused")
		return echo.NewHTTPError(http.StatusForbidden, "wrong account")
	}
	if err != nil {
		c.log.Warn("sms: inbound webhook refused", "reason", err.Error(), "message_sid", form.Get("MessageSid"))
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	ctx, cancel := context.WithTimeout(ec.Request().Context(), c.cfg.ReceiveTimeout)
	defer cancel()

	kw := parseKeyword(in.Text)
	// The opt-out is recorded before the message: a Twilio retry of a STOP
	// whose message was stored still records it, and SetOptOut is
	// idempotent.
	switch kw {
	case keywordStop, keywordStart:
		if err := c.optOuts.SetOptOut(ctx, channel.SMS, in.From, kw == keywordStop); err != nil {
			c.log.Error("sms: recording opt-out failed; Twilio gets 503", "message_sid", in.ProviderID, "err", err)
			return echo.NewHTTPError(http.StatusServiceUnavailable, "try again")
		}
	}
	receipt, err := c.core.Receive(ctx, in)
	if err != nil {
		// Twilio does not retry an SMS webhook unless a fallback URL is
		// configured; 503 makes it try that fallback, and the error shows
		// in Twilio's debugger.
		c.log.Error("sms: storing inbound message failed; Twilio gets 503", "message_sid", in.ProviderID, "err", err)
		return echo.NewHTTPError(http.StatusServiceUnavailable, "try again")
	}
	c.log.Debug("sms: inbound message stored", "message_sid", in.ProviderID,
		"conversation", receipt.ConversationID, "duplicate", receipt.Duplicate, "new", receipt.NewConversation)

	// Keywords get no acknowledgement: Twilio itself answers STOP, START
	// and HELP on numbers with default opt-out handling, and someone who
	// just texted STOP must not hear from us again.
	if receipt.NewConversation && !receipt.Duplicate && kw == keywordNone {
		queue := c.QueueFor(in.To)
		c.background(func(base context.Context) { c.acknowledge(base, in, receipt, queue) })
	}
	return ec.Blob(http.StatusOK, "text/xml; charset=utf-8", []byte(emptyTwiML))
}

// acknowledge sends the first reply of a new conversation and records what
// it promised.
//
// When Twilio is busy, replies go before acknowledgements, so an
// acknowledgement can be held back until an agent has answered the
// customer; then it is not sent. A 429 is tried again no sooner than its
// Retry-After; one asking to wait beyond ackTimeout gives the
// acknowledgement up at once.
func (c *Channel) acknowledge(base context.Context, in channel.Inbound, receipt channel.Receipt, queue string) {
	ctx, cancel := context.WithTimeout(base, ackTimeout)
	defer cancel()
	text, promise, err := c.composeAck(ctx, queue, c.now())
	if err != nil {
		c.log.Error("sms: acknowledgement not composed", "conversation", receipt.ConversationID, "err", err)
		return
	}
	if text == "" {
		return
	}
	// The first try takes the opt-out the core read as it stored the
	// message, a few milliseconds ago; a try after a pause reads it again.
	optOut := receipt.OptOut
	for attempt, wait := 1, c.ackRetryWait; ; optOut = channel.OptOutUnread {
		// It waits for room to send for as long as ctx allows, behind
		// the replies of conversations under way.
		_, err = c.send(ctx, in.To, in.From, text, nil, receipt.ConversationID, optOut)
		// Twilio's 429 (busy) did nothing: it is tried again, as long
		// as ctx allows, without counting as one of three attempts, and
		// no sooner than Twilio asked (Retry-After).
		var busy *channel.BusyError
		pause := c.ackRetryWait
		if errors.As(err, &busy) {
			pause = max(pause, busy.RetryAfter)
		} else {
			if err == nil || !errors.Is(err, channel.ErrTemporary) || attempt == 3 {
				break
			}
			attempt, pause, wait = attempt+1, wait, wait*2
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < pause {
			// The next try would come after ctx ends: give up now
			// rather than sleep for nothing.
			err = fmt.Errorf("%w; waiting %s for the next try would outlast the acknowledgement's %s", err, pause, ackTimeout)
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		if ctx.Err() != nil {
			break
		}
		if answered, _ := c.core.Answered(ctx, receipt.ConversationID); answered {
			err = channel.ErrAnswered
			break
		}
	}
	var perm *channel.PermanentError
	switch {
	case errors.Is(err, channel.ErrAnswered):
		c.log.Info("sms: acknowledgement not sent: an agent answered first", "conversation", receipt.ConversationID)
		return
	case errors.As(err, &perm) && perm.Code == codeOptedOut:
		c.log.Info("sms: acknowledgement not sent: customer opted out", "conversation", receipt.ConversationID)
		return
	case err != nil:
		c.log.Warn("sms: acknowledgement not sent", "conversation", receipt.ConversationID, "err", err)
		return
	}
	told := channel.Place{Low: promise.Low, High: promise.High, Known: promise.High > 0}
	if err := c.core.Told(ctx, receipt.ConversationID, text, told); err != nil {
		c.log.Warn("sms: acknowledgement sent but not recorded", "conversation", receipt.ConversationID, "err", err)
	}
}

// handleStatus is the status callback of messages we sent.
func (c *Channel) handleStatus(ec echo.Context) error {
	form, err := readForm(ec)
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "malformed form body")
	}
	st, err := parseStatus(form, c.creds.AccountSID, c.now())
	if errors.Is(err, errOtherAccount) {
		return echo.NewHTTPError(http.StatusForbidden, "wrong account")
	}
	if err != nil {
		c.log.Warn("sms: status callback refused", "reason", err.Error())
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	ctx, cancel := context.WithTimeout(ec.Request().Context(), c.cfg.ReceiveTimeout)
	defer cancel()
	if st.ErrorCode == codeOptedOut {
		// The customer texted STOP before we knew (or outside Switchboard):
		// remember it so the next reply is refused with a reason up front.
		if to, err := channel.NormalizeNumber(form.Get("To"), false); err == nil {
			if err := c.optOuts.SetOptOut(ctx, channel.SMS, to, true); err != nil {
				c.log.Warn("sms: Twilio reports an opt-out we could not record", "message_sid", st.ProviderID, "err", err)
			}
		}
	}
	err = c.core.UpdateDelivery(ctx, st)
	switch {
	case errors.Is(err, channel.ErrUnknownMessage):
		// Not ours to retry: a message sent outside Switchboard, or one
		// whose send is still being recorded (the core keeps the status
		// for that case). Twilio retries only what is not answered 2xx.
		c.log.Info("sms: status callback for a message we do not know", "message_sid", st.ProviderID, "status", st.Status)
	case err != nil:
		c.log.Error("sms: delivery status not recorded", "message_sid", st.ProviderID, "status", st.Status, "err", err)
		return echo.NewHTTPError(http.StatusServiceUnavailable, "try again")
	}
	return ec.NoContent(http.StatusNoContent)
}
