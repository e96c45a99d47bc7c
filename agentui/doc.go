// Package agentui serves the agent console: the browser page at /agent/
// (plain ES modules and CSS embedded with go:embed, no build step) and the
// console's websocket protocol at /agent/ws.
//
// The package knows nothing of routing or conversation storage. It declares
// the [Backend] it needs and the wiring (internal/app) implements it on top
// of routing and the conversation service. Live events reach a console
// because the wiring publishes the frames built by this package's helpers
// ([OfferFrame], [MessageFrame], ...) on the hub topics [AgentTopic] and
// [ConvTopic]; the handler subscribes each console connection to its
// agent's topic and to the topics of the conversations it may see. Every
// frame is described in docs/protocol.md, section "Console (agent)".
//
// The path prefix /supervisor/ is reserved for the supervisor view, which a
// later change adds to this package.
package agentui
