// Package sms is the SMS channel through Twilio: the inbound messaging
// webhook (POST /twilio/sms), the delivery status callback
// (POST /twilio/sms/status), the first acknowledgement of a new
// conversation, STOP/START/HELP opt-out keywords, and the Sender the outbox
// calls to text a customer.
//
// The package depends on the conversation contract only
// (conversation.Receiver, conversation.Sender, conversation.StatusReceiver)
// and declares the few things it needs beyond it: an Estimator for honest
// wait estimates, a PromiseRecorder that learns what the customer was told,
// and OptOuts, which remembers who texted STOP.
//
// See docs/channels/sms.md for setup and guarantees.
package sms
