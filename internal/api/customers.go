package api

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/conversation"
)

func (h *Handler) visibleCustomer(c echo.Context, id string) (conversation.Customer, error) {
	cu, err := h.svc.Customer(c.Request().Context(), id)
	if err != nil {
		return conversation.Customer{}, err
	}
	if !h.access.CanSeeCustomer(c, cu) {
		return conversation.Customer{}, fmt.Errorf("api: customer %s: %w", id, conversation.ErrNotFound)
	}
	return cu, nil
}

func (h *Handler) getCustomer(c echo.Context) error {
	cu, err := h.visibleCustomer(c, c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, cu)
}

// findCustomer looks a customer up by channel and address.
func (h *Handler) findCustomer(c echo.Context) error {
	ch := conversation.Channel(c.QueryParam("channel"))
	cu, err := h.svc.FindCustomer(c.Request().Context(), ch, c.QueryParam("address"))
	if err != nil {
		return h.fail(c, err)
	}
	if !h.access.CanSeeCustomer(c, cu) {
		return h.fail(c, conversation.ErrNotFound)
	}
	return c.JSON(http.StatusOK, cu)
}

type customerPatch struct {
	Name  *string   `json:"name"`
	Notes *string   `json:"notes"`
	Tags  *[]string `json:"tags"`
}

func (h *Handler) updateCustomer(c echo.Context) error {
	var b customerPatch
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	if b.Name != nil && len(*b.Name) > 200 {
		return h.fail(c, &conversation.FieldError{Field: "name", Reason: "at most 200 bytes"})
	}
	if b.Tags != nil && len(*b.Tags) > 50 {
		return h.fail(c, &conversation.FieldError{Field: "tags", Reason: "at most 50 tags"})
	}
	cu, err := h.visibleCustomer(c, c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	cu, err = h.svc.UpdateCustomer(c.Request().Context(), cu.ID, conversation.CustomerUpdate{Name: b.Name, Notes: b.Notes, Tags: b.Tags})
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, cu)
}

type mergeBody struct {
	CustomerID string `json:"customer_id"`
}

// merge folds the customer in the body into the one in the path.
func (h *Handler) merge(c echo.Context) error {
	var b mergeBody
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	if b.CustomerID == "" {
		return h.fail(c, &conversation.FieldError{Field: "customer_id", Reason: "required"})
	}
	w, err := h.visibleCustomer(c, c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	l, err := h.visibleCustomer(c, b.CustomerID)
	if err != nil {
		return h.fail(c, err)
	}
	cu, err := h.svc.Merge(c.Request().Context(), w.ID, l.ID)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, cu)
}

type identityBody struct {
	Channel conversation.Channel `json:"channel"`
	Address string               `json:"address"`
}

// link adds an address to a customer, merging its current owner if any.
func (h *Handler) link(c echo.Context) error {
	var b identityBody
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	if _, err := conversation.NormalizeAddress(b.Channel, b.Address); err != nil {
		return h.fail(c, err)
	}
	w, err := h.visibleCustomer(c, c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	cu, err := h.svc.LinkIdentity(c.Request().Context(), w.ID, b.Channel, b.Address)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, cu)
}

func (h *Handler) history(c echo.Context) error {
	cu, err := h.visibleCustomer(c, c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	offset, err := intParam(c, "offset")
	if err != nil {
		return h.fail(c, err)
	}
	limit, err := intParam(c, "limit")
	if err != nil {
		return h.fail(c, err)
	}
	page, err := h.svc.History(c.Request().Context(), cu.ID, offset, int(min(limit, 100)))
	if err != nil {
		return h.fail(c, err)
	}
	// Conversations the caller may not see are left out of the page; the
	// total still counts them, so paging stays stable.
	visible := page.Conversations[:0]
	for _, conv := range page.Conversations {
		if h.access.CanSeeConversation(c, conv) {
			visible = append(visible, conv)
		}
	}
	page.Conversations = visible
	return c.JSON(http.StatusOK, page)
}
