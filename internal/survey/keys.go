package survey

// keys builds every Redis key of the package. All share the workspace's
// hash tag, so the scripts' keys live on one Redis Cluster slot.
//
//	sb:{ws}:survey:<conv>                     hash        one conversation's survey (state, channel, address, score…)
//	sb:{ws}:survey:due                        sorted set  surveys to send, by due time (a claim pushes it by the lease)
//	sb:{ws}:survey:open:<channel>:<address>   string      the survey a reply from that address answers, until the window ends
//	sb:{ws}:survey:fig:<yyyy-mm-dd>           hash        counters of surveys sent that day: sent|rated|good per dimension
//	sb:{ws}:survey:events                     stream      one entry per rating (rate.lua), capped, for other processes
//	sb:{ws}:secret:survey                     string      HMAC key of the email rating links (the wiring creates it)
type keys struct{ ws string }

func (k keys) prefix() string                 { return "sb:{" + k.ws + "}:survey:" }
func (k keys) survey(convID string) string    { return k.prefix() + convID }
func (k keys) due() string                    { return k.prefix() + "due" }
func (k keys) open(ch, address string) string { return k.prefix() + "open:" + ch + ":" + address }
func (k keys) fig(day string) string          { return k.prefix() + "fig:" + day }
func (k keys) events() string                 { return k.prefix() + "events" }

// SecretKey is where the email links' HMAC key lives.
func SecretKey(workspace string) string { return "sb:{" + workspace + "}:secret:survey" }
