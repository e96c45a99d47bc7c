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

// dequeue takes an accepted caller out of the Twilio queue to the connect
// URL, which dials the agent. Twilio cuts off whatever the caller was
// hearing, so no announcement delays the connection.
func (c *Channel) dequeue(ctx context.Context, cs callState, ev channel.Event) error {
	prev, err := c.calls.move(ctx, cs.Sid, []string{stateWaiting}, stateConnecting,
		"agent", ev.AgentID, "accepted_at", ms(c.now()))
	if err != nil || prev == "" {
		return err // "": the caller left or another gateway is connecting
	}
	u := c.url(ConnectPath, "call", cs.Sid, "agent", ev.AgentID)
	if cs.QueueSid != "" {
		p := &openapi.UpdateMemberParams{}
		p.SetUrl(u)
		p.SetMethod(http.MethodPost)
		_, err = c.rest.Api.UpdateMember(cs.QueueSid, cs.Sid, p)
	} else {
		// The wait URL has not run yet, so the queue is unknown: redirect
		// the call itself, which takes it out of the queue all the same.
		p := &openapi.UpdateCallParams{}
		p.SetUrl(u)
		p.SetMethod(http.MethodPost)
		_, err = c.rest.Api.UpdateCall(cs.Sid, p)
	}
	if err != nil {
		f := c.creds.Explain(err)
		if f.Temporary {
			// Back to waiting so that the retried event tries again.
			if _, merr := c.calls.move(ctx, cs.Sid, []string{stateConnecting}, stateWaiting, "agent", ""); merr != nil {
				return errors.Join(f, merr)
			}
			return fmt.Errorf("voice: dequeue %s: %w", cs.Sid, f)
		}
		// The call is no longer queued (the caller hung up a moment ago):
		// its status callback ends the conversation.
		c.log.Warn("voice: dequeue refused; waiting for the call's end", "call_sid", cs.Sid, "err", f)
		return nil
	}
	name := ev.AgentName
	if name == "" {
		name = ev.AgentID
	}
	c.record(ctx, cs.Conv, "accepted", fmt.Sprintf("Accepted by %s after waiting %s; connecting the caller.", name, minutesSeconds(ev.Wait)))
	return nil
}

// agentNoun is how the agent is dialled: their phone when they have one
// configured, else the console's softphone, which is told the call's
// conversation and caller.
func (c *Channel) agentNoun(ctx context.Context, agent string, cs callState, statusURL string) (twiml.Element, error) {
	phone, err := c.phones.Phone(ctx, agent)
	if err != nil {
		return nil, fmt.Errorf("voice: phone of agent %s: %w", agent, err)
	}
	if phone != "" {
		return &twiml.VoiceNumber{PhoneNumber: phone, StatusCallback: statusURL,
			StatusCallbackEvent: "answered completed", StatusCallbackMethod: http.MethodPost}, nil
	}
	return &twiml.VoiceClient{
		StatusCallback: statusURL, StatusCallbackEvent: "answered completed", StatusCallbackMethod: http.MethodPost,
		InnerElements: []twiml.Element{
			&twiml.VoiceIdentity{ClientIdentity: agent},
			&twiml.VoiceParameter{Name: "conversation", Value: cs.Conv},
			&twiml.VoiceParameter{Name: "caller", Value: cs.From},
		},
	}, nil
}

// connect is the URL a dequeued caller is sent to: it dials the agent.
func (c *Channel) connect(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil {
		return "", err
	}
	agent := w.q.Get("agent")
	if !agentIDPattern.MatchString(agent) {
		return "", badField("agent", "not an agent id")
	}
	if !ok {
		return document(&twiml.VoiceHangup{})
	}
	if cs.State != stateConnecting || cs.Agent != agent {
		// Not (or no longer) this agent's call: back in line.
		return document(c.enqueue(cs.Queue))
	}
	noun, err := c.agentNoun(w.ctx, agent, cs, c.url(LegPath, "call", cs.Sid, "agent", agent))
	if err != nil {
		return "", err
	}
	dial := &twiml.VoiceDial{
		Action: c.url(DialedPath, "call", cs.Sid, "agent", agent), Method: http.MethodPost,
		Timeout: strconv.Itoa(secs(c.cfg.RingTimeout)), InnerElements: []twiml.Element{noun},
	}
	if c.cfg.RecordCalls {
		dial.Record = "record-from-answer-dual"
		dial.RecordingStatusCallback = c.url(RecordingPath, "call", cs.Sid, "kind", "call")
		dial.RecordingStatusCallbackMethod = http.MethodPost
	}
	return document(dial)
}

// dialed is the <Dial>'s action: the talk ended, or the agent never
// answered and the caller goes back to their place.
func (c *Channel) dialed(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil {
		return "", err
	}
	if !ok {
		return document(&twiml.VoiceHangup{})
	}
	agent := w.q.Get("agent")
	switch st := w.h.DialCallStatus; {
	case st == "completed" || st == "answered":
		prev, err := c.calls.move(w.ctx, cs.Sid, []string{stateConnecting, stateConnected}, stateEnded)
		if err != nil {
			return "", err
		}
		if prev != "" {
			c.record(w.ctx, cs.Conv, "call_ended", fmt.Sprintf("Call ended after %s talking.", minutesSeconds(seconds2(w.h.DialCallDuration))))
			if err := c.core.CustomerEnded(w.ctx, cs.Conv); err != nil && !errors.Is(err, channel.ErrNotFound) {
				return "", fmt.Errorf("voice: end %s: %w", cs.Conv, err)
			}
		}
		return document(&twiml.VoiceHangup{})
	case terminal(w.h.CallStatus):
		// The caller hung up while the agent's phone rang.
		return "", c.callerGone(w.ctx, cs, w.now, "hung up while the agent's phone rang")
	default:
		// no-answer, busy, failed, canceled: a missed offer. The caller
		// rejoins the Twilio queue, and our queue puts the conversation
		// back at its place with its enqueue time.
		prev, err := c.calls.move(w.ctx, cs.Sid, []string{stateConnecting}, stateWaiting, "agent", "")
		if err != nil {
			return "", err
		}
		if prev == "" {
			return document(&twiml.VoiceHangup{})
		}
		c.record(w.ctx, cs.Conv, "missed", fmt.Sprintf("%s did not pick up (%s); the caller is back at their place.", agent, st))
		if err := c.core.Missed(w.ctx, cs.Conv, agent); err != nil {
			// The caller stays held either way; the offer's recovery in
			// routing returns the conversation if this did not.
			c.log.Error("voice: missed call not returned to the queue", "conversation", cs.Conv, "agent", agent, "err", err)
		}
		return document(c.enqueue(cs.Queue))
	}
}

func seconds2(n int) time.Duration { return time.Duration(n) * time.Second }

// leg is the status callback of the agent's leg of a call: its answer is
// when the caller was answered; for a callback's agent leg, an agent who
// does not pick up misses the offer.
func (c *Channel) leg(w *webhook) (string, error) {
	cs, ok, err := c.callOf(w)
	if err != nil || !ok {
		return "", err
	}
	agent := w.q.Get("agent")
	if !agentIDPattern.MatchString(agent) {
		return "", badField("agent", "not an agent id")
	}
	first, err := c.calls.once(w.ctx, w.h.CallSid, "leg:"+w.h.CallStatus)
	if err != nil || !first {
		return "", err
	}
	if w.q.Get("kind") == "callback" {
		return "", c.callbackLeg(w, cs, agent)
	}
	if w.h.CallStatus == "in-progress" {
		prev, err := c.calls.move(w.ctx, cs.Sid, []string{stateConnecting}, stateConnected, "answered_at", ms(w.now))
		if err != nil {
			return "", err
		}
		if prev != "" {
			c.record(w.ctx, cs.Conv, "answered", fmt.Sprintf("Answered by %s after %s in line.", agent, minutesSeconds(w.now.Sub(cs.Enqueued))))
		}
	}
	return "", nil
}
