package routing

import "strings"

// Every Redis key the routing engine uses is built here, and the Lua scripts
// get the same segments (luaKeySegments), so a key's name is written once.
// All keys of a workspace share the hash tag {<workspace>}: an agent's
// capacity is shared across queues and must be checked in the same script
// as the conversation it is offered, which Redis Cluster allows only within
// one hash slot.
//
//	sb:{ws}:events              stream      every state change, capped
//	sb:{ws}:live                pub/sub     the same events, live, to every gateway
//	sb:{ws}:rc:<id>             hash        one conversation's routing state (rc: the conversation service owns conv:)
//	sb:{ws}:agent:<id>          hash        an agent: state, skills, queues, capacity and load per channel
//	sb:{ws}:agent:<id>:convs    set         conversations offered to or held by the agent
//	sb:{ws}:agents              set         every agent id
//	sb:{ws}:q:<queue>:<channel> sorted set  waiting conversations by priority, then enqueue time
//	sb:{ws}:ovf:<queue>:<ch>    sorted set  conversations of other queues that overflowed into <queue>
//	sb:{ws}:avail:<queue>:<ch>  sorted set  agents able to take an offer now, by idle-since
//	sb:{ws}:online:<queue>      set         agents available for the queue (busy or not)
//	sb:{ws}:qcfg:<queue>        hash        the queue's settings, for the scripts
//	sb:{ws}:offers              sorted set  open offers by deadline (the recoverer's lease set)
//	sb:{ws}:wrapups             sorted set  conversations in wrap-up by end time
//	sb:{ws}:seen                sorted set  agents by last heartbeat
//	sb:{ws}:ovfdue              sorted set  conversations by the time they may overflow
//	sb:{ws}:waits:<queue>       list        recent enqueue-to-accept waits, ms
//	sb:{ws}:handles:<queue>     list        recent accept-to-close handle times, ms
const (
	segEvents   = "events"
	segLive     = "live"
	segConv     = "rc:"
	segAgent    = "agent:"
	segConvs    = ":convs"
	segAgents   = "agents"
	segQueue    = "q:"
	segOverflow = "ovf:"
	segAvail    = "avail:"
	segOnline   = "online:"
	segQCfg     = "qcfg:"
	segOffers   = "offers"
	segWrapups  = "wrapups"
	segSeen     = "seen"
	segOvfDue   = "ovfdue"
	segWaits    = "waits:"
	segHandles  = "handles:"
	// segProbe names a key that is never written; see lib.lua.
	segProbe = "slotprobe"
)

// luaKeySegments is prepended to every script so lib.lua builds the same
// names as the Go functions below.
var luaKeySegments = strings.Join([]string{
	"local S_EVENTS = '" + segEvents + "'",
	"local S_LIVE = '" + segLive + "'",
	"local S_CONV = '" + segConv + "'",
	"local S_AGENT = '" + segAgent + "'",
	"local S_CONVS = '" + segConvs + "'",
	"local S_AGENTS = '" + segAgents + "'",
	"local S_QUEUE = '" + segQueue + "'",
	"local S_OVERFLOW = '" + segOverflow + "'",
	"local S_AVAIL = '" + segAvail + "'",
	"local S_ONLINE = '" + segOnline + "'",
	"local S_QCFG = '" + segQCfg + "'",
	"local S_OFFERS = '" + segOffers + "'",
	"local S_WRAPUPS = '" + segWrapups + "'",
	"local S_SEEN = '" + segSeen + "'",
	"local S_OVFDUE = '" + segOvfDue + "'",
	"local S_WAITS = '" + segWaits + "'",
	"local S_HANDLES = '" + segHandles + "'",
	"local S_PROBE = '" + segProbe + "'",
}, "\n") + "\n"

// keys builds the key names of one workspace.
type keys struct{ p string }

func newKeys(workspace string) keys { return keys{p: "sb:{" + workspace + "}:"} }

func (k keys) events() string               { return k.p + segEvents }
func (k keys) live() string                 { return k.p + segLive }
func (k keys) conv(id string) string        { return k.p + segConv + id }
func (k keys) agent(id string) string       { return k.p + segAgent + id }
func (k keys) agentConvs(id string) string  { return k.p + segAgent + id + segConvs }
func (k keys) agents() string               { return k.p + segAgents }
func (k keys) queue(q, ch string) string    { return k.p + segQueue + q + ":" + ch }
func (k keys) overflow(q, ch string) string { return k.p + segOverflow + q + ":" + ch }
func (k keys) avail(q, ch string) string    { return k.p + segAvail + q + ":" + ch }
func (k keys) online(q string) string       { return k.p + segOnline + q }
func (k keys) qcfg(q string) string         { return k.p + segQCfg + q }
func (k keys) offers() string               { return k.p + segOffers }
func (k keys) wrapups() string              { return k.p + segWrapups }
func (k keys) seen() string                 { return k.p + segSeen }
func (k keys) ovfDue() string               { return k.p + segOvfDue }
func (k keys) waits(q string) string        { return k.p + segWaits + q }
func (k keys) handles(q string) string      { return k.p + segHandles + q }
