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
// The supervisor view lives here too ([Supervisor], supervisor.go): the page
// at /supervisor/ (same look and modules as the console) and its websocket
// at /supervisor/ws, for the supervisor and admin roles. It declares the
// [SupervisorBackend] it needs; the wiring feeds it boards folded by
// internal/stats and pushes each new board to this gateway's supervisor
// connections only. docs/protocol.md, section "Supervisor", has its frames.
package agentui
