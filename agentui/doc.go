// Package agentui serves the agent console: the browser page at /agent/
// (plain ES modules and CSS embedded with go:embed, no build step) and the
// console's websocket protocol at /agent/ws.
//
// The package decides nothing: it declares the [Backend] it needs, and
// [NewDeskBackend] implements it on the desk (internal/desk), which decides
// who may see and do what; errors are the desk's, mapped to ack codes once
// (classify). Live events reach a console because the desk tells
// [Publisher] (its desk.Consoles), which publishes the frames built by this
// package's helpers ([OfferFrame], [MessageFrame], ...) on the hub topics
// [AgentTopic] and [ConvTopic]; the handler subscribes each console connection to its
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
