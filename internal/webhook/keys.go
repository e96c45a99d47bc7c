package webhook

// Every Redis key of this package, under the workspace's hash tag so the
// scripts stay valid on Redis Cluster:
//
//	sb:{ws}:wh:eps                 set    endpoint ids
//	sb:{ws}:wh:ep:<ep>             hash   endpoint (url, events, secrets, state, failing_since …)
//	sb:{ws}:wh:due                 zset   "<ep>|<event id>" scored by next attempt (ms); only
//	                                      the head of each ordering list is in it
//	sb:{ws}:wh:o:<ep>:<key>        list   event ids of one endpoint and ordering key, FIFO
//	sb:{ws}:wh:d:<ep>:<event id>   hash   one delivery: body, attempts, outcome; kept 7 days
//	sb:{ws}:wh:log:<ep>            stream recent outcomes, capped, for the admin view
type keys struct{ ws string }

func (k keys) prefix() string                 { return "sb:{" + k.ws + "}:wh:" }
func (k keys) endpoints() string              { return k.prefix() + "eps" }
func (k keys) endpoint(id string) string      { return k.prefix() + "ep:" + id }
func (k keys) due() string                    { return k.prefix() + "due" }
func (k keys) order(ep, key string) string    { return k.prefix() + "o:" + ep + ":" + key }
func (k keys) delivery(ep, evt string) string { return k.prefix() + "d:" + ep + ":" + evt }
func (k keys) log(ep string) string           { return k.prefix() + "log:" + ep }
