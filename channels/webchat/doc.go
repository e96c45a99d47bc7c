// Package webchat is the web chat channel: the embeddable widget that puts a
// launcher and a chat panel on any web page, the demo page that shows it,
// and the customer websocket protocol behind it.
//
// A visitor is known by a signed visitor token the widget keeps in the
// browser's localStorage, so a returning visitor is the same customer and
// resumes an open conversation with its earlier messages. Customer messages
// go to the conversation service as [channel.Inbound] values; agent
// replies come back through [Server.Send], which implements
// [conversation.Sender], and reach the browser through the realtime hub on
// whichever gateway holds the visitor's socket. The wiring tells visitors
// about routing events (place in line, an agent joined, typing, the chat
// closed) with the Server's frame helpers, so no other package writes this
// protocol's JSON.
//
// The protocol is documented message by message in docs/protocol.md (section
// "Web chat"); embedding and configuration in docs/channels/webchat.md.
package webchat
