package voice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard/switchboard/internal/channel"
)

// placeRetry is the pause before placing a callback call again after
// Twilio's REST API failed for a moment.
const placeRetry = 15 * time.Second

// acceptCallback starts a callback an agent accepted: call the agent now.
func (c *Channel) acceptCallback(ctx context.Context, cs callState, ev channel.Event) error {
	prev, err := c.calls.move(ctx, cs.Sid, []string{stateCallback}, stateCallbackDialing,
		"agent", ev.AgentID, "accepted_at", ms(c.now()), "attempts", 0)
	if err != nil || prev == "" {
		return err
	}
	name := ev.AgentName
	if name == "" {
		name = ev.AgentID
	}
	c.record(ctx, cs.Conv, "callback_accepted", fmt.Sprintf("Callback accepted by %s after %s in line; calling %s first.",
		name, minutesSeconds(ev.Wait), name))
	cs.State, cs.Agent, cs.Attempts = stateCallbackDialing, ev.AgentID, 0
	c.placeCallback(ctx, cs)
	return nil
}

// placeDueCallbacks places the callbacks whose retry is due.
func (c *Channel) placeDueCallbacks(ctx context.Context) {
	sids, err := c.calls.claimDue(ctx, c.now(), 20)
	if err != nil {
		c.log.Warn("voice: due callbacks not read", "err", err)
	}
	for _, sid := range sids {
		cs, ok, err := c.calls.get(ctx, sid)
		if err != nil {
			c.log.Warn("voice: callback not placed; retrying", "call_sid", sid, "err", err)
			_ = c.calls.scheduleCallback(ctx, sid, c.now().Add(placeRetry))
			continue
		}
		if !ok {
			continue
		}
		prev, err := c.calls.move(ctx, sid, []string{stateCallbackDue, stateCallbackDialing}, stateCallbackDialing)
		if err != nil || prev == "" {
			continue
		}
		c.placeCallback(ctx, cs)
	}
}

// placeCallback calls the agent's phone or softphone; when they answer,
// callbackAgent dials the customer from that call. A REST failure worth
// retrying is retried shortly by Run; any other means the agent cannot be
// called, which counts as their missed offer.
func (c *Channel) placeCallback(ctx context.Context, cs callState) {
	to, err := c.phones.Phone(ctx, cs.Agent)
	if err != nil {
		c.log.Warn("voice: callback not placed; retrying", "call_sid", cs.Sid, "err", err)
		_ = c.calls.scheduleCallback(ctx, cs.Sid, c.now().Add(placeRetry))
		return
	}
	if to == "" {
		to = "client:" + cs.Agent
	}
	attempt := strconv.Itoa(cs.Attempts + 1)
	p := &openapi.CreateCallParams{}
	p.SetTo(to)
	p.SetFrom(cs.To)
	p.SetUrl(c.url(CallbackAgentPath, "call", cs.Sid, "attempt", attempt))
	p.SetMethod(http.MethodPost)
	p.SetStatusCallback(c.url(LegPath, "call", cs.Sid, "agent", cs.Agent, "kind", "callback", "attempt", attempt))
	p.SetStatusCallbackEvent([]string{"completed"})
	p.SetStatusCallbackMethod(http.MethodPost)
	p.SetTimeout(secs(c.cfg.RingTimeout))
	if _, err := c.rest.Api.CreateCall(p); err != nil {
		f := c.creds.Explain(err)
		if f.Temporary {
			c.log.Warn("voice: callback call not placed; retrying", "call_sid", cs.Sid, "err", f)
			if err := c.calls.scheduleCallback(ctx, cs.Sid, c.now().Add(placeRetry)); err != nil {
				c.log.Error("voice: callback lost its retry", "call_sid", cs.Sid, "conversation", cs.Conv, "err", err)
			}
			return
		}
		c.log.Warn("voice: agent cannot be called for a callback", "call_sid", cs.Sid, "agent", cs.Agent, "err", f)
		c.agentMissedCallback(ctx, cs, cs.Agent, "could not be called: "+f.Message)
	}
}

// agentMissedCallback returns a callback whose agent did not pick up to its
// place in line, waiting for the next agent.
func (c *Channel) agentMissedCallback(ctx context.Context, cs callState, agent, why string) {
	prev, err := c.calls.move(ctx, cs.Sid, []string{stateCallbackDialing}, stateCallback, "agent", "")
	if err != nil || prev == "" {
		return
	}
	c.record(ctx, cs.Conv, "missed", fmt.Sprintf("%s %s for the callback; it is back at its place in line.", agent, why))
	if err := c.core.Missed(ctx, cs.Conv, agent); err != nil {
		c.log.Error("voice: missed callback offer not returned to the queue", "conversation", cs.Conv, "agent", agent, "err", err)
	}
}

// callbackLeg is the status callback of a callback's call to the agent.
func (c *Channel) callbackLeg(w *webhook, cs callState, agent string) error {
	switch w.h.CallStatus {
	case "busy", "no-answer", "failed", "canceled":
		c.agentMissedCallback(w.ctx, cs, agent, "did not pick up ("+w.h.CallStatus+")")
	}
	return nil
}

// callbackAgent is the TwiML of the agent's leg once they answer: tell
// them who is being called, then dial the customer from our number.
func (c *Channel) callbackAgent(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil {
		return "", err
	}
	if !ok || cs.State != stateCallbackDialing {
		return document(c.say("This callback is no longer needed. Goodbye."), &twiml.VoiceHangup{})
	}
	attempt := w.q.Get("attempt")
	if n, err := strconv.Atoi(attempt); err != nil || n < 1 || n > 100 {
		return "", badField("attempt", "not an attempt number")
	}
	c.record(w.ctx, cs.Conv, "callback_attempt", fmt.Sprintf("Callback attempt %s: calling %s.", attempt, cs.From))
	return document(
		c.say(fmt.Sprintf("Calling back the customer who waited %s. Please hold.", spokenDuration(w.now.Sub(cs.Enqueued)))),
		&twiml.VoiceDial{
			Action: c.url(CallbackDialPath, "call", cs.Sid, "attempt", attempt), Method: http.MethodPost,
			CallerId: cs.To, Timeout: "30",
			InnerElements: []twiml.Element{&twiml.VoiceNumber{PhoneNumber: cs.From}},
		})
}

// callbackDialed is the action of the customer's <Dial> in a callback:
// answered and done, or another attempt after the spacing, or a missed
// callback once the attempts are spent.
func (c *Channel) callbackDialed(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil {
		return "", err
	}
	if !ok {
		return document(&twiml.VoiceHangup{})
	}
	if st := w.h.DialCallStatus; st == "completed" || st == "answered" {
		prev, err := c.calls.move(w.ctx, cs.Sid, []string{stateCallbackDialing}, stateEnded)
		if err != nil {
			return "", err
		}
		if prev != "" {
			c.record(w.ctx, cs.Conv, "call_ended", fmt.Sprintf("Callback answered; call ended after %s talking.", minutesSeconds(seconds2(w.h.DialCallDuration))))
			if err := c.core.CustomerEnded(w.ctx, cs.Conv); err != nil && !errors.Is(err, channel.ErrNotFound) {
				return "", fmt.Errorf("voice: end %s: %w", cs.Conv, err)
			}
		}
		return document(&twiml.VoiceHangup{})
	}
	attempts := cs.Attempts + 1
	if attempts < c.cfg.Callback.Attempts {
		next := w.now.Add(c.cfg.Callback.Spacing)
		prev, err := c.calls.move(w.ctx, cs.Sid, []string{stateCallbackDialing}, stateCallbackDue, "attempts", attempts)
		if err != nil {
			return "", err
		}
		if prev != "" {
			if err := c.calls.scheduleCallback(w.ctx, cs.Sid, next); err != nil {
				return "", err
			}
			c.record(w.ctx, cs.Conv, "callback_attempt", fmt.Sprintf("Callback attempt %d: %s; next attempt at %s.",
				attempts, w.h.DialCallStatus, next.UTC().Format("15:04 UTC")))
		}
		return document(c.say(fmt.Sprintf("No answer. We will try again in %s.", spokenDuration(c.cfg.Callback.Spacing))), &twiml.VoiceHangup{})
	}
	prev, err := c.calls.move(w.ctx, cs.Sid, []string{stateCallbackDialing}, stateEnded, "attempts", attempts)
	if err != nil {
		return "", err
	}
	if prev != "" {
		// The conversation stays with the agent, who may reach the
		// customer another way; the line is what supervisors are alerted by.
		c.record(w.ctx, cs.Conv, channel.RecordMissedCallback, fmt.Sprintf("Missed callback: %d attempts to %s, none answered.", attempts, cs.From))
	}
	return document(c.say("No answer again. The callback is marked as missed."), &twiml.VoiceHangup{})
}

// spokenDuration is a duration as said aloud: "2 minutes", "45 seconds".
func spokenDuration(d time.Duration) string {
	if d < time.Minute {
		n := int(d / time.Second)
		return fmt.Sprintf("%d %s", n, plural(n, "second"))
	}
	n := int((d + 30*time.Second) / time.Minute)
	return fmt.Sprintf("%d %s", n, plural(n, "minute"))
}
