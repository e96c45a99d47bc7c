// Package promise keeps the promises agents make to customers ("I'll call
// you back about the refund by Thursday 15:00"): the promise model, its
// Redis store, the due loop that brings a waiting conversation back to its
// agent when the promise falls due (or earlier, when the customer writes),
// the keeping rules (kept, late, broken) and the figures folded from them.
//
// Due times live in a sorted set, like routing's offers: any gateway's
// Service.Run claims a due promise with a lease (claim.lua) and finishes it
// with the lease's token (finish.lua), so a gateway that dies holding one
// misses nothing (the lease lapses and another gateway claims it) and the
// conversation is handed back to routing once (routing refuses a second
// enqueue of a live conversation, and a finish with a stale token writes
// nothing).
//
// Who may make, keep or cancel a promise is the desk's decision
// (internal/desk); this package trusts its callers. It knows neither
// routing nor the conversation service: the desk adapts them to Router.
package promise
