package agentui_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/agentui"
	"github.com/switchboard/switchboard/agentui/internal/fakebackend"
	"github.com/switchboard/switchboard/internal/desk"
	"github.com/switchboard/switchboard/internal/realtime"
)

// Example shows the wiring: a Backend over the core, the authentication
// of the gateway, and events published with the frame helpers.
func Example() {
	hub, err := realtime.New(realtime.Config{}) // Redis: the gateway's store client
	if err != nil {
		log.Fatal(err)
	}
	// The gateway implements Backend over routing and the conversation
	// service; the fake stands in here.
	var backend agentui.Backend = fakebackend.New(hub)
	console, err := agentui.New(agentui.Config{
		Backend: backend,
		Hub:     hub,
		Authenticate: func(r *http.Request) (desk.Actor, error) {
			// With internal/auth: p, err := authService.Check(r); wrap
			// agentui.ErrUnauthenticated around auth.ErrUnauthenticated, then
			// desk.Actor{AccountID: p.AccountID, Name: p.Name,
			// Role: p.Role, Token: p.Via == auth.ViaToken}.
			return desk.Actor{}, agentui.ErrUnauthenticated
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	e := echo.New()
	console.Register(e)

	// When routing offers conversation c42 to ana:
	ctx := context.Background()
	_ = hub.Publish(ctx, agentui.AgentTopic("ana"), agentui.OfferFrame(desk.Offer{
		ConversationID: "c42", Channel: "sms", Queue: "support",
		Customer: desk.CustomerRef{ID: "maria", Name: "Maria Svensson"},
		Preview:  "Hi, I was charged twice", OfferedAt: time.Now(), Deadline: time.Now().Add(30 * time.Second),
	}))
	// When the transcript of c42 gets a message:
	_ = hub.Publish(ctx, agentui.ConvTopic("c42"), agentui.MessageFrame(desk.Message{
		ID: "1763838000000-0", ConversationID: "c42", Kind: desk.KindCustomer,
		Author: "Maria Svensson", Text: "Are you there?", At: time.Now(),
	}))
	_ = hub.Shutdown(ctx)
}
