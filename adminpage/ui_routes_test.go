package adminpage_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/riscd/riscd/admin/admintest"
)

// route is a method and an Echo path.
type route struct{ method, path string }

func (r route) String() string { return r.method + " " + r.path }

// uiOpen are the admin page's routes that need no session.
var uiOpen = map[route]bool{
	{http.MethodGet, "/admin/ui"}:               true,
	{http.MethodGet, "/admin/ui/"}:              true,
	{http.MethodGet, "/admin/ui/login"}:         true,
	{http.MethodPost, "/admin/ui/login"}:        true,
	{http.MethodGet, "/admin/ui/static/ui.css"}: true,
}

// TestEveryUIRouteNeedsASession walks every admin page route Register
// mounts: without a session, a page
// sends the browser to sign in and an action answers 403, even when the
// request carries the admin token as a bearer token.
func TestEveryUIRouteNeedsASession(t *testing.T) {
	e, op := newUIEnv(t, nil, nil)
	fill := strings.NewReplacer(":id", "1", ":sub", "alice")
	var guarded, open int
	for _, er := range e.Echo.Routes() {
		r := route{er.Method, er.Path}
		if r.path != "/admin/ui" && !strings.HasPrefix(r.path, "/admin/ui/") {
			continue
		}
		if uiOpen[r] {
			open++
			continue
		}
		guarded++
		t.Run(r.String(), func(t *testing.T) {
			for _, bearer := range []bool{false, true} {
				b := newBrowser(t, e)
				edit := func(req *http.Request) {
					if bearer {
						req.Header.Set("Authorization", "Bearer "+admintest.AdminToken)
					}
				}
				var p page
				if r.method == http.MethodGet {
					req, err := http.NewRequest(http.MethodGet, e.URL+fill.Replace(r.path), nil)
					if err != nil {
						t.Fatal(err)
					}
					edit(req)
					p = b.send(req)
					if p.status != http.StatusSeeOther || p.location() != "/admin/ui/login" {
						t.Errorf("bearer %v: status %d Location %q, want 303 to /admin/ui/login", bearer, p.status, p.location())
					}
					continue
				}
				p = b.post(fill.Replace(r.path), url.Values{"csrf": {"x"}, "confirm": {"yes"}}, edit)
				if p.status != http.StatusForbidden {
					t.Errorf("bearer %v: status %d, want 403", bearer, p.status)
				}
			}
		})
	}
	if open != len(uiOpen) {
		t.Errorf("found %d of the %d open admin page routes", open, len(uiOpen))
	}
	if guarded < 13 {
		t.Errorf("found %d guarded admin page routes, want at least 13", guarded)
	}
	if op.calls() != 0 {
		t.Errorf("refused requests reached the operator %d times", op.calls())
	}
}
