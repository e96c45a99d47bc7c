package promise

// Every Redis key of promises is built here. All share the workspace's hash
// tag, so the scripts, which derive a promise's key from the prefix, stay
// valid on Redis Cluster.
//
//	sb:{ws}:prom:<id>          hash    one promise (fields: see promiseFrom)
//	sb:{ws}:prom:due           zset    promises still to fire, by fire time (ms); a
//	                                   claimed one is pushed a lease ahead
//	sb:{ws}:prom:remind        zset    reminders still to show, by time (ms)
//	sb:{ws}:prom:open          zset    open (unresolved) promises by due time (ms)
//	sb:{ws}:prom:done          zset    resolved promises (kept, late, broken) by resolution time (ms)
//	sb:{ws}:prom:agent:<id>    zset    the agent's open promises by due time (ms)
//	sb:{ws}:prom:conv:<id>     zset    every promise of a conversation by creation time (ms)
//	sb:{ws}:prom:parked        hash    conversation id -> the promise it waits for (pending)
//	sb:{ws}:prom:tz:<customer> string  the customer's IANA time zone, when known
//	sb:{ws}:prom:events        stream  made, kept, late, broken, returned; capped
type keys struct{ p string }

func newKeys(workspace string) keys { return keys{p: "sb:{" + workspace + "}:prom:"} }

func (k keys) promise(id string) string { return k.p + id }
func (k keys) due() string              { return k.p + "due" }
func (k keys) remind() string           { return k.p + "remind" }
func (k keys) open() string             { return k.p + "open" }
func (k keys) done() string             { return k.p + "done" }
func (k keys) agent(id string) string   { return k.p + "agent:" + id }
func (k keys) conv(id string) string    { return k.p + "conv:" + id }
func (k keys) parked() string           { return k.p + "parked" }
func (k keys) zone(cust string) string  { return k.p + "tz:" + cust }
func (k keys) events() string           { return k.p + "events" }
