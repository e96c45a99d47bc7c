package voice

import (
	"context"
	"fmt"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/switchboard/switchboard/internal/channel"
)

// Observe implements channel.Observer. An accepted call is dequeued to
// its agent; an accepted callback calls the agent, then the customer; a
// conversation closed by its agent while the call runs hangs the call up.
// Offer lapses need nothing here: a caller waits in the Twilio queue until
// someone accepts.
func (c *Channel) Observe(ctx context.Context, ev channel.Event) error {
	if ev.Channel != channel.Voice {
		return nil
	}
	cs, ok, err := c.calls.byConversation(ctx, ev.ConversationID)
	if err != nil || !ok {
		return err
	}
	switch ev.Type {
	case channel.EventAccepted:
		switch cs.State {
		case stateWaiting:
			return c.dequeue(ctx, cs, ev)
		case stateCallback:
			return c.acceptCallback(ctx, cs, ev)
		}
	case channel.EventClosed, channel.EventAbandoned:
		return c.closed(ctx, cs, ev)
	}
	return nil
}

// closed stops whatever the call still does once its conversation ended
// elsewhere (the agent closed it, a supervisor did).
func (c *Channel) closed(ctx context.Context, cs callState, ev channel.Event) error {
	if err := c.calls.unscheduleCallback(ctx, cs.Sid); err != nil {
		return err
	}
	live := cs.State == stateConnecting || cs.State == stateConnected
	if live && ev.Reason != "customer_ended" {
		p := &openapi.UpdateCallParams{}
		p.SetStatus("completed")
		if _, err := c.rest.Api.UpdateCall(cs.Sid, p); err != nil {
			f := c.creds.Explain(err)
			if f.Temporary {
				return fmt.Errorf("voice: hang up %s: %w", cs.Sid, f)
			}
			c.log.Info("voice: call already over when its conversation closed", "call_sid", cs.Sid, "err", f)
		}
	}
	_, err := c.calls.move(ctx, cs.Sid, []string{stateConnecting, stateConnected, stateCallback, stateCallbackDue}, stateEnded)
	return err
}
