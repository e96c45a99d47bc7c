// Package conversation owns conversations, customers and transcripts: it
// turns each normalized Inbound from a channel into a message on the right
// conversation of the right customer, hands new conversations to routing,
// and sends agents' replies through an outbox to the channel that owns them.
package conversation
