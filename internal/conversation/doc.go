// Package conversation owns conversations, customers and transcripts: it
// turns each normalized Inbound from a channel into a message on the right
// conversation of the right customer, hands new conversations to routing,
// and sends agents' replies through an outbox to the channel that owns them.
//
// Channels depend only on inbound.go (Inbound, Receiver, Sender,
// StatusReceiver). The Service implements Receiver and StatusReceiver; the
// application wiring gives it a Router (an adapter over the routing engine,
// declared in router.go so this package does not import routing), one
// Sender per channel and a Notifier for the realtime hub, and forwards
// routing's events to the On* methods.
//
// All state is in Redis under sb:{<workspace>}: (keys.go). Every change
// that touches several keys is one Lua script (lua/*.lua, each with a
// header listing KEYS, ARGV and return codes), so a crash or a lost
// connection never leaves half a conversation, a reply in the transcript
// but not in the outbox, or an identity pointing nowhere. The guarantees of
// the outbox are spelled out in outbox.go.
package conversation
