package adminpage

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd/admin"
)

// uiGrantsView is the grant list page.
type uiGrantsView struct {
	Sub, Status, Feature, Scope string // the filters as given
	Statuses                    []string
	Features                    []string
	List                        admin.GrantList
	NextURL                     string // "" on the last page
}

// uiGrants is GET /admin/ui/grants?sub=&status=&feature=&scope=&cursor=:
// grants, newest first, filtered as GET /admin/grants filters them.
func (s *Page) uiGrants(c echo.Context) error {
	q, err := s.svc.GrantQuery(c)
	if err != nil {
		return err
	}
	list, err := s.svc.GrantPage(c.Request().Context(), q)
	if err != nil {
		return err
	}
	v := uiGrantsView{
		Sub: q.Sub, Status: string(q.Status), Feature: c.QueryParam("feature"), Scope: c.QueryParam("scope"),
		Features: s.svc.Features(), List: list,
	}
	for _, st := range admin.GrantStatuses() {
		v.Statuses = append(v.Statuses, string(st))
	}
	if list.NextCursor != "" {
		v.NextURL = pageURL(uiBase+"/grants", url.Values{
			"sub": {v.Sub}, "status": {v.Status}, "feature": {v.Feature}, "scope": {v.Scope}, "limit": {c.QueryParam("limit")}, "cursor": {list.NextCursor},
		})
	}
	return s.render(c, http.StatusOK, "grants", uiLayout{Title: "Grants", Body: v})
}

// uiGrantView is the grant page.
type uiGrantView struct {
	admin.GrantDetail
	CanRevoke bool // an Operator is wired and the grant is not revoked yet
	Operator  bool // an Operator is wired
}

// uiGrant is GET /admin/ui/grants/{id}: one grant, its history and the
// revoke form.
func (s *Page) uiGrant(c echo.Context) error {
	id, err := admin.PathParam(c, "id")
	if err != nil {
		return err
	}
	d, err := s.svc.GrantOf(c.Request().Context(), id)
	if err != nil {
		return err
	}
	v := uiGrantView{GrantDetail: d, Operator: s.svc.HasOperator()}
	v.CanRevoke = v.Operator && d.Status != "revoked"
	return s.render(c, http.StatusOK, "grant", uiLayout{Title: "Grant " + d.ID, Page: "grant", Body: v})
}

// uiRevoke is POST /admin/ui/grants/{id}/revoke (confirm=yes): the
// Operator discards the grant and queues its upstream revocation, as
// DELETE /admin/grants/{id}; then the account page shows the result.
func (s *Page) uiRevoke(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := admin.PathParam(c, "id")
	if err != nil {
		return err
	}
	g, err := s.store.Grant(ctx, id)
	if err != nil {
		return admin.OrNotFound(err, "grant")
	}
	if !confirmed(c) {
		return errConfirm
	}
	if err := s.svc.Revoke(ctx, id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, uiBase+"/accounts/"+url.PathEscape(g.Sub)+"?notice=revoked")
}
