package conversation

import "github.com/switchboard/switchboard/internal/channel"

// Every Redis key this package touches is built here. All keys of one
// workspace share the hash tag {<workspace>}, so the multi-key Lua scripts
// stay valid on Redis Cluster: the scripts derive further keys from the
// prefix (see prefix), and those land in the same slot by construction.
//
//	sb:{ws}:conv:<id>                     hash   the conversation record
//	sb:{ws}:conv:<id>:log                 stream the transcript
//	sb:{ws}:conv:<id>:outq                list   replies waiting for the one in the outbox
//	sb:{ws}:cust:<id>                     hash   the customer (name, notes, last agent, merged_into)
//	sb:{ws}:cust:<id>:idents              set    "<kind>:<address>" identities of the customer
//	sb:{ws}:cust:<id>:tags                set    tags (e.g. vip)
//	sb:{ws}:cust:<id>:convs               zset   conversation ids scored by creation time (ms)
//	sb:{ws}:ident:<kind>:<address>        string customer id; kind is phone (sms and voice
//	                                             share a number), email or chat
//	sb:{ws}:open:<customer>:<channel>     string the customer's open conversation on a channel
//	sb:{ws}:thread:<channel>:<key>        string conversation id for one key of a thread hint
//	                                             (a Message-ID, a call SID) or a provider id
//	                                             (email only, in and out)
//	sb:{ws}:dedup:<channel>:<provider id> string "conv|msg|cust" of a delivery already stored
//	sb:{ws}:msg:<id>                      hash   an outbound message and its send/delivery state
//	sb:{ws}:provmsg:<channel>:<provider>  string message id of a sent message, for status callbacks
//	sb:{ws}:early:<channel>:<provider>    string a delivery status that arrived before the send
//	                                             was recorded ("rank|status|at|code|text"), 10 min
//	sb:{ws}:outbox                        zset   outbound message ids scored by next attempt (ms);
//	                                             at most one per conversation (conv field outbox_head)
//	sb:{ws}:unrouted                      zset   conversations stored but not yet accepted by routing
//	sb:{ws}:convs                         zset   every conversation id scored by creation time (ms),
//	                                             the order List pages through
//	sb:{ws}:convs:agent:<agent>           zset   conversations ever offered or assigned to the agent,
//	                                             scored by creation time (ms)
//	sb:{ws}:optout:<channel>:<address>    string time (RFC 3339) the customer opted out of the channel
//	                                             (texted STOP); no expiry: it holds until START.
//	                                             Read by receive, claim and reply along their work
//	sb:{ws}:convevents                    stream facts for other processes (message received/sent/
//	                                             status, customer created/updated/merged, conversation
//	                                             started by an agent, conversation closed), capped;
//	                                             written by the script that records the fact
//
// The conversation hash's updated_at (ms) is set by every script that
// changes the record (receive, reply, update, merge).

// keys builds the keys of one workspace.
type keys struct {
	ws string
}

// prefix is "sb:{ws}:"; the Lua scripts get it to derive per-record keys.
func (k keys) prefix() string { return "sb:{" + k.ws + "}:" }

func (k keys) conv(id string) string    { return k.prefix() + "conv:" + id }
func (k keys) convLog(id string) string { return k.prefix() + "conv:" + id + ":log" }
func (k keys) cust(id string) string    { return k.prefix() + "cust:" + id }
func (k keys) custIdents(id string) string {
	return k.prefix() + "cust:" + id + ":idents"
}
func (k keys) custTags(id string) string  { return k.prefix() + "cust:" + id + ":tags" }
func (k keys) custConvs(id string) string { return k.prefix() + "cust:" + id + ":convs" }
func (k keys) ident(kind, addr string) string {
	return k.prefix() + "ident:" + kind + ":" + addr
}
func (k keys) dedup(ch channel.Name, providerID string) string {
	return k.prefix() + "dedup:" + string(ch) + ":" + providerID
}
func (k keys) msg(id string) string { return k.prefix() + "msg:" + id }
func (k keys) provMsg(ch channel.Name, providerID string) string {
	return k.prefix() + "provmsg:" + string(ch) + ":" + providerID
}
func (k keys) early(ch channel.Name) string { return k.prefix() + "early:" + string(ch) + ":" }
func (k keys) outbox() string               { return k.prefix() + "outbox" }
func (k keys) open(cust string, ch channel.Name) string {
	return k.prefix() + "open:" + cust + ":" + string(ch)
}
func (k keys) unrouted() string { return k.prefix() + "unrouted" }
func (k keys) optOut(ch channel.Name, addr string) string {
	return k.prefix() + "optout:" + string(ch) + ":" + addr
}
func (k keys) events() string { return k.prefix() + "convevents" }
func (k keys) convs() string  { return k.prefix() + "convs" }
func (k keys) agentConvs(agent string) string {
	return k.prefix() + "convs:agent:" + agent
}
