// Package voice is the voice channel through Twilio: a caller hears one
// short greeting with their place in line and an honest estimate, waits in
// a Twilio queue (<Enqueue>) while Switchboard's own Redis queue decides
// who answers, and is taken out of the Twilio queue by REST the moment an
// agent accepts, to a <Dial> of the agent's browser softphone (<Client>) or
// phone (<Number>).
//
// After a configurable wait the caller may press 1 to be called back
// without losing their place: the conversation stays in our queue with its
// original enqueue time, and when an agent accepts it the channel calls the
// agent first, then the customer, retrying at a configured spacing. Outside
// business hours callers leave a voicemail, which becomes a conversation.
//
// The package depends on the channel contract only (channel.Core,
// channel.Observer) and declares what else it needs: Hours (when a queue is
// open) and Phones (which agents take calls on a phone number). Its own
// state — one hash per call, the place last announced, due callbacks —
// lives in Redis under sb:{workspace}:voice:…, so any gateway can answer
// any webhook.
//
// See docs/channels/voice.md for the call flows and the Twilio settings.
package voice
