package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/channel"
	"github.com/switchboard/switchboard/internal/conversation"
)

func (h *Handler) getCustomer(c echo.Context) error {
	cu, err := h.desk.Customer(c.Request().Context(), h.who(c), c.Param("id"))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, cu)
}

// findCustomer looks a customer up by channel and address.
func (h *Handler) findCustomer(c echo.Context) error {
	ch := channel.Name(c.QueryParam("channel"))
	cu, err := h.desk.FindCustomer(c.Request().Context(), h.who(c), ch, c.QueryParam("address"))
	if err != nil {
		return h.fail(c, err)
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
	cu, err := h.desk.UpdateCustomer(c.Request().Context(), h.who(c), c.Param("id"), conversation.CustomerUpdate{Name: b.Name, Notes: b.Notes, Tags: b.Tags})
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
	cu, err := h.desk.Merge(c.Request().Context(), h.who(c), c.Param("id"), b.CustomerID)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, cu)
}

type identityBody struct {
	Channel channel.Name `json:"channel"`
	Address string       `json:"address"`
}

// link adds an address to a customer, merging its current owner if any.
func (h *Handler) link(c echo.Context) error {
	var b identityBody
	if err := h.bind(c, &b); err != nil {
		return h.fail(c, err)
	}
	cu, err := h.desk.LinkAddress(c.Request().Context(), h.who(c), c.Param("id"), b.Channel, b.Address)
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, cu)
}

func (h *Handler) history(c echo.Context) error {
	offset, err := intParam(c, "offset")
	if err != nil {
		return h.fail(c, err)
	}
	limit, err := intParam(c, "limit")
	if err != nil {
		return h.fail(c, err)
	}
	page, err := h.desk.History(c.Request().Context(), h.who(c), c.Param("id"), offset, int(min(limit, 100)))
	if err != nil {
		return h.fail(c, err)
	}
	return c.JSON(http.StatusOK, page)
}
