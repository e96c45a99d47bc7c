// Package channel is the contract between Switchboard's core and its channel
// adapters (channels/sms, channels/voice, channels/email, channels/webchat),
// and the one vocabulary of channel names, capacities and offer timeouts.
//
// A channel turns what its provider sends (a form post, a MIME message, a
// websocket frame) into one normalized Inbound and hands it to the Core; it
// delivers the agents' replies (Outbound) when the outbox calls Send. It
// serves its own HTTP routes, runs its own background work, and may observe
// the routing events of its conversations (chat: an agent joined; voice:
// connect the call on accept). The wiring lists every channel once.
//
// This package imports nothing of Switchboard: routing, the conversation
// service and every adapter import it, never the reverse.
package channel
