// Package sms is the SMS channel through Twilio: the inbound messaging
// webhook (POST /twilio/sms), the delivery status callback
// (POST /twilio/sms/status), the first acknowledgement of a new
// conversation, STOP/START/HELP opt-out keywords, and the Sender the outbox
// calls to text a customer.
//
// The package depends on the channel contract only (internal/channel: it
// is a channel.Channel built on a channel.Core, which receives texts and
// delivery reports, gives honest wait estimates and learns what the
// customer was told) and declares the one thing it needs beyond it:
// OptOuts, which remembers who texted STOP.
//
// See docs/channels/sms.md for setup and guarantees.
package sms
