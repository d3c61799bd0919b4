package admin

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// uiGrantsView is the grant list page.
type uiGrantsView struct {
	Sub, Status, Feature, Scope string // the filters as given
	Statuses                    []string
	Features                    []string
	List                        grantList
	NextURL                     string // "" on the last page
}

// uiGrants is GET /admin/ui/grants?sub=&status=&feature=&scope=&cursor=:
// grants, newest first, filtered as GET /admin/grants filters them.
func (s *Server) uiGrants(c echo.Context) error {
	q, err := s.grantQuery(c)
	if err != nil {
		return err
	}
	list, err := s.grantPage(c.Request().Context(), q)
	if err != nil {
		return err
	}
	v := uiGrantsView{
		Sub: q.Sub, Status: string(q.Status), Feature: c.QueryParam("feature"), Scope: c.QueryParam("scope"),
		Features: s.features, List: list,
	}
	for _, st := range grantStatuses {
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
	grantDetail
	CanRevoke bool // an Operator is wired and the grant is not revoked yet
	Operator  bool // an Operator is wired
}

// uiGrant is GET /admin/ui/grants/{id}: one grant, its history and the
// revoke form.
func (s *Server) uiGrant(c echo.Context) error {
	id, err := PathParam(c, "id")
	if err != nil {
		return err
	}
	d, err := s.grantDetailOf(c.Request().Context(), id)
	if err != nil {
		return err
	}
	v := uiGrantView{grantDetail: d, Operator: s.cfg.Operator != nil}
	v.CanRevoke = v.Operator && d.Status != "revoked"
	return s.render(c, http.StatusOK, "grant", uiLayout{Title: "Grant " + d.ID, Page: "grant", Body: v})
}

// uiRevoke is POST /admin/ui/grants/{id}/revoke (confirm=yes): the
// Operator discards the grant and queues its upstream revocation, as
// DELETE /admin/grants/{id}; then the account page shows the result.
func (s *Server) uiRevoke(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := PathParam(c, "id")
	if err != nil {
		return err
	}
	g, err := s.store.Grant(ctx, id)
	if err != nil {
		return orNotFound(err, "grant")
	}
	if !confirmed(c) {
		return errConfirm
	}
	if err := s.revoke(ctx, id); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, uiBase+"/accounts/"+url.PathEscape(g.Sub)+"?notice=revoked")
}
