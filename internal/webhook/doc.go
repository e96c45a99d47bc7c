// Package webhook delivers Switchboard's events to the HTTP endpoints that
// admins register (a CRM, a data warehouse), at least once, in order per
// conversation, signed, and replayable.
//
// The flow: a fan-out consumer group ("webhooks") on routing's event
// stream and on the streams of the conversation, promise and survey
// services (facts.go, consume.go) turns each event into an envelope
// (envelope.go) and queues one delivery per subscribed endpoint; every gateway runs delivery workers that claim due
// deliveries under a lease, POST them and record the outcome (deliver.go).
// A gateway that dies holding a lease loses nothing: the lease lapses and
// another gateway claims the delivery again, so a receiver may see one
// event twice across that crash window and must drop it by its id.
//
// Ordering: deliveries of one endpoint with the same ordering key (the
// conversation, else the customer or the agent) form a list sorted by the
// stream id the event came from; only its head is ever due, so a retried
// event holds back the later events of its conversation and no others. A
// new head waits OrderWindow before it is sent, so that an earlier event
// another gateway is still fanning out takes its place first.
//
// Trust (sign.go, guard.go): Standard Webhooks headers (webhook-id,
// webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>" of
// "id.timestamp.body"), two secrets valid during a rotation; URLs that
// resolve to loopback, private, link-local or otherwise internal addresses
// are refused at registration and again at connect time unless the
// endpoint allows them explicitly; redirects are not followed; responses
// are read with a size cap under a timeout.
//
// All keys live under sb:{ws}:wh: (keys.go); every multi-key change is one
// Lua script (lua/*.lua).
package webhook
