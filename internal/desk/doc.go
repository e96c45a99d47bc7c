// Package desk is the contact desk: who may see and act on a conversation,
// and what each routing event means. It is Switchboard's one home for
// those rules. The agent console (agentui), the REST API (internal/api) and
// the supervisor view call it with an Actor and get the same answer for
// the same action; channels reach it through channel.Core, which it
// implements.
//
// Routing's state is the authority on who holds a conversation (offers
// and accepts are decided atomically in Redis); the conversation record
// follows through the routing event stream and may lag by a moment, so
// every decision reads routing first.
//
// The Desk also reacts to routing events once across all gateways
// (Reactor): it records them on the conversation, tells consoles through
// the Consoles it is given, and tells channels through channel.Observer.
// It imports neither agentui nor any channel.
package desk
