package admin

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// uiAuditView is the audit log page.
type uiAuditView struct {
	Sub     string // the filter as given
	List    auditList
	NextURL string // "" on the last page
}

// uiAudit is GET /admin/ui/audit?sub=&cursor=: the audit log, newest
// first, as GET /admin/audit.
func (s *Server) uiAudit(c echo.Context) error {
	q, err := auditQuery(c)
	if err != nil {
		return err
	}
	list, err := s.auditPage(c.Request().Context(), q)
	if err != nil {
		return err
	}
	v := uiAuditView{Sub: q.Sub, List: list}
	if list.NextCursor != "" {
		v.NextURL = pageURL(uiBase+"/audit", url.Values{"sub": {q.Sub}, "limit": {c.QueryParam("limit")}, "cursor": {list.NextCursor}})
	}
	return s.render(c, http.StatusOK, "audit", uiLayout{Title: "Audit log", Body: v})
}
