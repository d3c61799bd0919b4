package adminpage

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd/admin"
)

// uiAuditView is the audit log page.
type uiAuditView struct {
	Sub     string // the filter as given
	List    admin.AuditList
	NextURL string // "" on the last page
}

// uiAudit is GET /admin/ui/audit?sub=&cursor=: the audit log, newest
// first, as GET /admin/audit.
func (s *Page) uiAudit(c echo.Context) error {
	q, err := admin.AuditQuery(c)
	if err != nil {
		return err
	}
	list, err := s.svc.AuditPage(c.Request().Context(), q)
	if err != nil {
		return err
	}
	v := uiAuditView{Sub: q.Sub, List: list}
	if list.NextCursor != "" {
		v.NextURL = pageURL(uiBase+"/audit", url.Values{"sub": {q.Sub}, "limit": {c.QueryParam("limit")}, "cursor": {list.NextCursor}})
	}
	return s.render(c, http.StatusOK, "audit", uiLayout{Title: "Audit log", Body: v})
}
