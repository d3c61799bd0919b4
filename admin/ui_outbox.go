package admin

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/httplog"
)

// uiOutboxView is the outbox page.
type uiOutboxView struct {
	Status string // "pending" or "failed"
	Kind   string // the filter as given
	List   outboxList
}

// uiOutbox is GET /admin/ui/outbox?status=&kind=: pending upstream
// revocations and webhooks, oldest first, with their age, or failed ones,
// newest first, each with a retry button; as GET /admin/outbox.
func (s *Server) uiOutbox(c echo.Context) error {
	q, err := outboxParams(c)
	if err != nil {
		return err
	}
	list, err := s.outboxJobs(c.Request().Context(), q)
	if err != nil {
		return err
	}
	v := uiOutboxView{Status: string(q.status), Kind: string(q.kind), List: list}
	return s.render(c, http.StatusOK, "outbox", uiLayout{Title: "Outbox", Body: v})
}

// uiRetryOutbox is POST /admin/ui/outbox/{id}/retry: a failed job goes
// back to pending, audited, as POST /admin/outbox/{id}/retry.
func (s *Server) uiRetryOutbox(c echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.retryOutbox(c.Request().Context(), id, "admin page, request "+httplog.RequestID(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, uiBase+"/outbox?notice=job_retried")
}
