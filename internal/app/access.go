package app

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/conversation"
)

// apiAccess enforces in the REST API what the console enforces: an agent
// sees conversations offered or assigned to them and those customers, acts
// (replies, notes, closes, transfers) only on conversations they accepted,
// and cannot link an address owned by someone else; supervisors, admins and integration
// tokens with those roles may do everything.
type apiAccess struct {
	convs   *conversation.Service
	console *consoleBackend // holder(): routing's word on who holds what
}

func (x apiAccess) CanSeeConversation(c echo.Context, conv conversation.Conversation) bool {
	p, ok := auth.PrincipalFrom(c)
	if !ok {
		return false
	}
	if !p.IsAgentOnly() {
		return true
	}
	ctx := c.Request().Context()
	holder, active := x.console.holder(ctx, conv)
	if c.Request().Method == http.MethodGet {
		return holder == p.AccountID || (!conv.Open() && conv.AgentID == p.AccountID)
	}
	return holder == p.AccountID && active
}

func (x apiAccess) CanSeeCustomer(c echo.Context, cust conversation.Customer) bool {
	p, ok := auth.PrincipalFrom(c)
	if !ok {
		return false
	}
	if !p.IsAgentOnly() {
		return true
	}
	if c.Request().Method == http.MethodPost && strings.HasSuffix(c.Path(), "/identities") {
		// Linking an address merges in whoever owns it now, a customer the
		// agent may never have served, with their whole history: a
		// supervisor's call. Merging two customers the agent can both see
		// stays open to agents (the handler checks both).
		return false
	}
	if cust.LastAgentID == p.AccountID {
		return true
	}
	page, err := x.convs.History(c.Request().Context(), cust.ID, 0, 50)
	if err != nil {
		return false
	}
	for _, conv := range page.Conversations {
		if conv.AgentID == p.AccountID {
			return true
		}
	}
	return false
}
