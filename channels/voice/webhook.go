package voice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard/switchboard/internal/channel"
)

// emptyTwiML ends the current document; what happens next depends on
// where Twilio is (a wait URL is fetched again; a callback is informative).
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// webhook is one signed request from Twilio, parsed.
type webhook struct {
	ctx context.Context
	h   hook
	// q holds the query parameters of our own URLs (call, agent, attempt);
	// the signature covers them.
	q   url.Values
	now time.Time
}

// serve wraps a handler: the signature middleware has checked size and
// signature; serve parses the form from the body (never the query),
// bounds the core calls in time, and answers TwiML. A handler error is a
// 503, which Twilio reports in its debugger and answers with its fallback.
func (c *Channel) serve(fn func(*webhook) (string, error)) echo.HandlerFunc {
	return func(ec echo.Context) error {
		body, err := io.ReadAll(ec.Request().Body)
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "unreadable body")
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, "malformed form body")
		}
		h, err := parseHook(form, c.creds.AccountSID)
		if errors.Is(err, errOtherAccount) {
			c.log.Warn("voice: webhook for another Twilio account refused", "path", ec.Path())
			return echo.NewHTTPError(http.StatusForbidden, "wrong account")
		}
		if err != nil {
			c.log.Warn("voice: webhook refused", "path", ec.Path(), "reason", err.Error(), "call_sid", form.Get("CallSid"))
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		ctx, cancel := context.WithTimeout(ec.Request().Context(), c.cfg.ReceiveTimeout)
		defer cancel()
		out, err := fn(&webhook{ctx: ctx, h: h, q: ec.Request().URL.Query(), now: c.now()})
		var pe *parseError
		if errors.As(err, &pe) {
			c.log.Warn("voice: webhook refused", "path", ec.Path(), "reason", err.Error(), "call_sid", h.CallSid)
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		if err != nil {
			c.log.Error("voice: webhook failed; Twilio gets 503", "path", ec.Path(), "call_sid", h.CallSid, "err", err)
			return echo.NewHTTPError(http.StatusServiceUnavailable, "try again")
		}
		if out == "" {
			out = emptyTwiML
		}
		return ec.Blob(http.StatusOK, "text/xml; charset=utf-8", []byte(out))
	}
}

// callOf loads the call a webhook is about: the CallSid of the form, or
// for our own URLs the "call" query parameter (a <Dial>'s child legs carry
// their own CallSid). An unknown call is logged and answered 200 with
// nothing to do: another system may share the number.
func (c *Channel) callOf(w *webhook) (callState, bool, error) {
	sid := w.h.CallSid
	if q := w.q.Get("call"); q != "" {
		if !callSidPattern.MatchString(q) {
			return callState{}, false, badField("call", "not a call SID")
		}
		sid = q
	}
	cs, ok, err := c.calls.get(w.ctx, sid)
	if err == nil && !ok {
		c.log.Info("voice: webhook for an unknown call answered and ignored", "call_sid", sid)
	}
	return cs, ok, err
}

// record adds a system line to the transcript. A failure is logged: the
// caller must not lose the call because a line was not written.
func (c *Channel) record(ctx context.Context, conv, event, text string) {
	if conv == "" {
		return
	}
	if err := c.core.Record(ctx, conv, event, text); err != nil {
		c.log.Warn("voice: transcript line not recorded", "conversation", conv, "event", event, "err", err)
	}
}

// incoming is the voice webhook of our numbers: store, enqueue, answer.
func (c *Channel) incoming(w *webhook) (string, error) {
	h := w.h
	if h.From == "" {
		return "", badField("From", "missing")
	}
	to, err := channel.NormalizeNumber(h.To, false)
	if err != nil {
		return "", badField("To", err.Error())
	}
	queue := c.QueueFor(to)
	if cs, ok, err := c.calls.get(w.ctx, h.CallSid); err != nil {
		return "", err
	} else if ok {
		// Twilio retried a webhook we answered too late: answer the same
		// way, without recording the greeting twice.
		if cs.State == stateVoicemail {
			return c.closedDocument(queue, w.now)
		}
		return document(c.enqueue(cs.Queue))
	}
	if !c.hours.Hours(queue).IsOpen(w.now) {
		cs := callState{Sid: h.CallSid, Queue: queue, From: h.From, To: to, State: stateVoicemail, Enqueued: w.now}
		if _, err := c.calls.create(w.ctx, cs); err != nil {
			return "", err
		}
		return c.closedDocument(queue, w.now)
	}
	if doc, ok, err := c.resumeCallback(w, to); err != nil || ok {
		return doc, err
	}
	from := h.From
	if _, ok := callerNumber(from); !ok {
		// A withheld number is no address: each such call is its own
		// customer rather than everyone who withholds theirs.
		from = "withheld:" + h.CallSid
	}
	receipt, err := c.core.Receive(w.ctx, channel.Inbound{
		Channel: channel.Voice, From: from, To: to, Text: "Call from " + h.From,
		ProviderID: h.CallSid, ThreadHint: h.CallSid, ReceivedAt: w.now,
	})
	if err != nil {
		return "", fmt.Errorf("voice: store call %s: %w", h.CallSid, err)
	}
	cs := callState{Sid: h.CallSid, Conv: receipt.ConversationID, Queue: queue, From: h.From, To: to,
		State: stateWaiting, Enqueued: w.now}
	if _, err := c.calls.create(w.ctx, cs); err != nil {
		return "", err
	}
	text := greeting(c.cfg.Company)
	place, err := c.core.Place(w.ctx, cs.Conv)
	if err != nil {
		c.log.Warn("voice: no place to announce", "conversation", cs.Conv, "err", err)
		place = channel.Place{}
	}
	if s := placeSentence(place); s != "" {
		text += " " + s
		if err := c.calls.set(w.ctx, cs.Sid, "told_place", place.Position, "told_at", ms(w.now)); err != nil {
			c.log.Warn("voice: announced place not kept", "call_sid", cs.Sid, "err", err)
		}
	}
	c.told(w.ctx, cs.Conv, text, place)
	return document(c.say(text), c.enqueue(queue))
}

// told records what the caller heard (and the estimate promised).
func (c *Channel) told(ctx context.Context, conv, text string, p channel.Place) {
	if !p.Known {
		p.Low, p.High = 0, 0
	}
	if err := c.core.Told(ctx, conv, text, p); err != nil {
		c.log.Warn("voice: what the caller heard was not recorded", "conversation", conv, "err", err)
	}
}

// closedDocument says when we open, then records a voicemail.
func (c *Channel) closedDocument(queue string, now time.Time) (string, error) {
	sched := c.hours.Hours(queue)
	opens := ""
	if next, ok := sched.NextOpen(now); ok {
		opens = sched.Describe(now, next)
	}
	rec := &twiml.VoiceRecord{
		Action: c.url(VoicemailPath), Method: http.MethodPost,
		MaxLength: strconv.Itoa(secs(c.cfg.Voicemail.MaxLength)), PlayBeep: "true", FinishOnKey: "#",
		RecordingStatusCallback: c.url(RecordingPath, "kind", "voicemail"), RecordingStatusCallbackMethod: http.MethodPost,
	}
	if c.cfg.Voicemail.Transcribe {
		rec.Transcribe, rec.TranscribeCallback = "true", c.url(TranscriptionPath)
	}
	return document(c.say(closedMessage(c.cfg.Company, opens)), rec,
		c.say("We did not get a message. Goodbye."), &twiml.VoiceHangup{})
}

// wait is <Enqueue>'s wait URL, fetched each time its document runs out:
// the place (never a worse one), the estimate, the callback offer, music.
func (c *Channel) wait(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil {
		return "", err
	}
	if !ok {
		return document(c.hold())
	}
	if w.h.QueueSid != "" && w.h.QueueSid != cs.QueueSid {
		if err := c.calls.set(w.ctx, cs.Sid, "queue_sid", w.h.QueueSid); err != nil {
			return "", err
		}
	}
	if cs.State != stateWaiting {
		// About to be dequeued or to leave: a second of silence, never a
		// fresh announcement that would be cut off.
		return document(&twiml.VoicePause{Length: "1"})
	}
	var verbs []twiml.Element
	if w.now.Sub(cs.ToldAt) >= c.cfg.AnnounceEvery {
		if s, place := c.announcement(w.ctx, cs); s != "" {
			verbs = append(verbs, c.say(s))
			c.told(w.ctx, cs.Conv, s, place)
			if err := c.calls.set(w.ctx, cs.Sid, "told_place", place.Position, "told_at", ms(w.now)); err != nil {
				return "", err
			}
		} else if err := c.calls.set(w.ctx, cs.Sid, "told_at", ms(w.now)); err != nil {
			return "", err
		}
	}
	if !c.callbackAllowed(cs) || w.now.Sub(cs.Enqueued) < c.cfg.Callback.After {
		return document(append(verbs, c.hold())...)
	}
	// The music plays inside the <Gather> so that 1 works at any time
	// once offered; the offer is repeated with each announcement.
	gather := &twiml.VoiceGather{Input: "dtmf", NumDigits: "1", Timeout: "1", Action: c.url(PressPath), Method: http.MethodPost}
	if cs.Offered.IsZero() || w.now.Sub(cs.Offered) >= c.cfg.AnnounceEvery {
		gather.InnerElements = append(gather.InnerElements, c.say(callbackOffer))
		if err := c.calls.set(w.ctx, cs.Sid, "offered", ms(w.now)); err != nil {
			return "", err
		}
	}
	gather.InnerElements = append(gather.InnerElements, c.hold())
	return document(append(verbs, gather)...)
}

// announcement is the place and estimate to say now, or "" when there is
// nothing honest to say: no place, or a place worse than the last one
// announced. A worse place has a reason (someone of higher priority
// arrived), and silence is better than a caller hearing they moved back.
func (c *Channel) announcement(ctx context.Context, cs callState) (string, channel.Place) {
	place, err := c.core.Place(ctx, cs.Conv)
	if err != nil {
		c.log.Warn("voice: no place to announce", "conversation", cs.Conv, "err", err)
		return "", place
	}
	if place.Position <= 0 || (cs.ToldPlace > 0 && place.Position > cs.ToldPlace) {
		return "", place
	}
	return placeSentence(place), place
}

func (c *Channel) callbackAllowed(cs callState) bool {
	_, ok := callerNumber(cs.From)
	return ok && !c.cfg.Callback.Off
}

// press is the <Gather> action inside the wait document: 1 asks for a
// callback; the caller <Leave>s the Twilio queue, and the Enqueue action
// confirms and hangs up.
func (c *Channel) press(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil || !ok {
		return "", err
	}
	if w.h.Digits != "1" || !c.callbackAllowed(cs) {
		return "", nil
	}
	prev, err := c.calls.move(w.ctx, cs.Sid, []string{stateWaiting}, stateCallback)
	if err != nil {
		return "", err
	}
	if prev == "" {
		return "", nil // an agent accepted at the same moment: keep waiting for the connect
	}
	c.booked(w.ctx, cs)
	c.record(w.ctx, cs.Conv, "callback_requested", fmt.Sprintf("Caller asked to be called back at %s after waiting %s; they keep their place in line.",
		cs.From, minutesSeconds(w.now.Sub(cs.Enqueued))))
	return document(&twiml.VoiceLeave{})
}

// queueResult is <Enqueue>'s action: how the caller left the Twilio queue.
func (c *Channel) queueResult(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil {
		return "", err
	}
	if !ok {
		return document(&twiml.VoiceHangup{})
	}
	switch w.h.QueueResult {
	case "leave":
		if cs.State != stateCallback {
			return document(&twiml.VoiceHangup{})
		}
		place, err := c.core.Place(w.ctx, cs.Conv)
		if err != nil {
			c.log.Warn("voice: no estimate for the callback confirmation", "conversation", cs.Conv, "err", err)
			place = channel.Place{}
		}
		text := callbackConfirmation(place)
		c.told(w.ctx, cs.Conv, text, place)
		return document(c.say(text), &twiml.VoiceHangup{})
	case "hangup":
		return "", c.callerGone(w.ctx, cs, w.now, "hung up while waiting")
	case "queue-full", "error", "system-error":
		// Twilio could not hold the call; our queue still can.
		if c.callbackAllowed(cs) {
			prev, err := c.calls.move(w.ctx, cs.Sid, []string{stateWaiting}, stateCallback)
			if err != nil {
				return "", err
			}
			if prev != "" {
				c.booked(w.ctx, cs)
				c.record(w.ctx, cs.Conv, "callback_requested", "Twilio could not hold the call ("+w.h.QueueResult+"); the caller will be called back and keeps their place.")
				return document(c.say(cannotHold), &twiml.VoiceHangup{})
			}
		}
		if err := c.callerGone(w.ctx, cs, w.now, "could not be held ("+w.h.QueueResult+")"); err != nil {
			return "", err
		}
		return document(c.say(cannotHoldNoNumber), &twiml.VoiceHangup{})
	}
	// bridged, redirected, redirected-from-bridged, bridging-in-process:
	// the call went where our dequeue sent it.
	return "", nil
}

// callerGone ends the call's part in the conversation: a caller who hung
// up while waiting abandoned it; one who talked ended it. Whatever webhook
// says so first acts; the others find the call ended.
func (c *Channel) callerGone(ctx context.Context, cs callState, now time.Time, why string) error {
	prev, err := c.calls.move(ctx, cs.Sid, []string{stateWaiting, stateConnecting, stateConnected}, stateEnded)
	if err != nil {
		return err
	}
	switch prev {
	case stateWaiting:
		if cs.ResumedFrom != "" {
			return c.keepCallback(ctx, cs)
		}
		c.record(ctx, cs.Conv, "abandoned", fmt.Sprintf("Caller %s after waiting %s.", why, minutesSeconds(now.Sub(cs.Enqueued))))
		if err := c.core.Abandon(ctx, cs.Conv); err != nil && !errors.Is(err, channel.ErrNotFound) {
			return fmt.Errorf("voice: abandon %s: %w", cs.Conv, err)
		}
	case stateConnecting, stateConnected:
		c.record(ctx, cs.Conv, "call_ended", "Caller hung up.")
		if err := c.core.CustomerEnded(ctx, cs.Conv); err != nil && !errors.Is(err, channel.ErrNotFound) {
			return fmt.Errorf("voice: end %s: %w", cs.Conv, err)
		}
	}
	return nil
}

// terminal reports whether a CallStatus ends the call.
func terminal(status string) bool {
	switch status {
	case "completed", "busy", "failed", "no-answer", "canceled":
		return true
	}
	return false
}

// status is the call status callback of our numbers. Only the end of a
// call matters here (the other steps are learnt from our own URLs);
// duplicates and statuses arriving after the end change nothing.
func (c *Channel) status(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil || !ok {
		return "", err
	}
	if w.h.CallStatus == "" {
		return "", badField("CallStatus", "missing")
	}
	first, err := c.calls.once(w.ctx, cs.Sid, "status:"+w.h.CallStatus)
	if err != nil || !first || !terminal(w.h.CallStatus) {
		return "", err
	}
	return "", c.callerGone(w.ctx, cs, w.now, "hung up while waiting")
}
