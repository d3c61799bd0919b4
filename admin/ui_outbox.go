package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// uiOutboxView is the outbox page.
type uiOutboxView struct {
	Kind string // the filter as given
	List outboxList
}

// uiOutbox is GET /admin/ui/outbox?kind=: pending upstream revocations and
// webhooks, oldest first, with their age, as GET /admin/outbox.
func (s *Server) uiOutbox(c echo.Context) error {
	kind, limit, err := outboxParams(c)
	if err != nil {
		return err
	}
	list, err := s.outboxJobs(c.Request().Context(), kind, limit)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "outbox", uiLayout{Title: "Outbox", Body: uiOutboxView{Kind: string(kind), List: list}})
}
