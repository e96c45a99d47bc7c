package app

import (
	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/conversation"
)

// apiAccess enforces in the REST API what the console enforces: an agent
// sees conversations offered or assigned to them and those customers;
// supervisors, admins and integration tokens with those roles see all.
type apiAccess struct{ convs *conversation.Service }

func (x apiAccess) CanSeeConversation(c echo.Context, conv conversation.Conversation) bool {
	p, ok := auth.PrincipalFrom(c)
	if !ok {
		return false
	}
	return !p.IsAgentOnly() || conv.AgentID == p.AccountID
}

func (x apiAccess) CanSeeCustomer(c echo.Context, cust conversation.Customer) bool {
	p, ok := auth.PrincipalFrom(c)
	if !ok {
		return false
	}
	if !p.IsAgentOnly() || cust.LastAgentID == p.AccountID {
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
