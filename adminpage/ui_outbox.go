package adminpage

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/httplog"
)

// uiOutboxView is the outbox page.
type uiOutboxView struct {
	Status string // "pending" or "failed"
	Kind   string // the filter as given
	List   admin.OutboxList
}

// uiOutbox is GET /admin/ui/outbox?status=&kind=: pending upstream
// revocations and webhooks, oldest first, with their age, or failed ones,
// newest first, each with its event type, its subject's email and a retry
// button; as GET /admin/outbox.
func (s *Page) uiOutbox(c echo.Context) error {
	q, err := admin.OutboxParams(c)
	if err != nil {
		return err
	}
	list, err := s.svc.OutboxJobs(c.Request().Context(), q)
	if err != nil {
		return err
	}
	v := uiOutboxView{Status: string(q.Status), Kind: string(q.Kind), List: list}
	return s.render(c, http.StatusOK, "outbox", uiLayout{Title: "Outbox", Body: v})
}

// uiRetryOutbox is POST /admin/ui/outbox/{id}/retry: a failed job goes
// back to pending, a pending one is due now ("retry now"), audited, as POST
// /admin/outbox/{id}/retry.
func (s *Page) uiRetryOutbox(c echo.Context) error {
	id, err := admin.IDParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.svc.RetryOutbox(c.Request().Context(), id, "admin page, request "+httplog.RequestID(c)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, uiBase+"/outbox?notice=job_retried")
}
