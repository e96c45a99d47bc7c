// Package realtime owns the websocket connections of one gateway process and
// the topics they listen on, and carries every publish to the subscribers on
// all other gateways through Redis pub/sub.
//
// It is the only package that imports gorilla/websocket. Protocols (the agent
// console, the supervisor view, the chat customer) live elsewhere and talk to
// a connection through [Conn]: an OnMessage handler, a context that ends with
// the connection, Send, Subscribe and Close with a code. The socket itself
// sits behind the small [Transport] interface, so protocol logic is tested
// with a [Pipe] and no network.
//
// Delivery is at most once. A message published while a gateway's Redis
// subscription is being re-established, or queued for a client that is then
// dropped as too slow, is lost on purpose: nothing here persists. Protocols
// keep their durable state in Redis streams and make every client resume from
// the last stream id it saw after it reconnects. The hub's part of that
// contract is to subscribe a topic in Redis before Subscribe returns (so a
// protocol can subscribe first, then read the stream backlog, and miss
// nothing in between) and to close connections whose live feed may have a
// gap, with a close code that tells the client to reconnect and resume.
//
// # Close codes
//
// Besides the standard codes (1000 normal, 1001 going away on shutdown, 1003
// binary frame where text is expected, 1007 invalid UTF-8, 1009 frame over
// the read limit, 1011 internal error) the hub uses:
//
//	4008 slow consumer: the send queue passed Config.MaxQueueBytes; reconnect and resume
//	4009 resync: the gateway's Redis subscription was interrupted; reconnect and resume
//	4400 bad message: the protocol could not understand a frame
//	4401 unauthorized, 4403 forbidden: for protocols to refuse a client
//
// # Defaults
//
// MaxQueueBytes 1 MiB, ReadLimit 64 KiB, WriteTimeout 10 s, PingInterval
// 20 s, PongWait 45 s, SubscribeTimeout 5 s, MaxPendingPublishes 4096,
// MaxHandling 256.
// See [Config].
//
// # Publishing
//
// Concurrent publishes share Redis round trips: one writer per hub sends
// the publishes queued while its previous batch was in flight as one
// pipeline, with no timer (a lone publish goes out at once). Each caller
// gets its own result, and one caller's publishes reach the other gateways
// in the order it made them.
package realtime
