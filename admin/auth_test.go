package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/companion"
)

// concretePath fills an OpenAPI path's parameters.
func concretePath(p string) string {
	return strings.NewReplacer("{id}", "1", "{sub}", "110169484474386276334").Replace(p)
}

// bodyFor is a valid body for routes that take one.
func bodyFor(r route) any {
	if r.path == "/v1/token" {
		return map[string]any{"sub": "110169484474386276334", "scopes": []string{"openid"}}
	}
	return nil
}

// TestEveryProtectedRouteRefusesMissingOrWrongTokens walks the OpenAPI
// document: every operation with a security requirement must answer 401
// with a Bearer challenge to each bad credential, without reaching its
// handler; every open operation must answer without one.
func TestEveryProtectedRouteRefusesMissingOrWrongTokens(t *testing.T) {
	e := admintest.New(t, nil)
	routes, ops := docRoutes(t)
	bad := []struct {
		name   string
		header string // Authorization; "" sends none
	}{
		{"no header", ""},
		{"wrong token", "Bearer not-the-token-0123456789"},
		{"admin token with a suffix", "Bearer " + admintest.AdminToken + "x"},
		{"admin token prefix", "Bearer " + admintest.AdminToken[:len(admintest.AdminToken)-1]},
		{"empty bearer", "Bearer "},
		{"basic scheme", "Basic " + admintest.AdminToken},
		{"token without scheme", admintest.AdminToken},
	}
	for _, r := range routes {
		op := ops[r]
		protected := op.Security != nil && len(*op.Security) > 0
		t.Run(r.String(), func(t *testing.T) {
			cases := bad
			if strings.HasPrefix(r.path, "/admin/") {
				cases = append(cases, struct{ name, header string }{"app token on an admin route", "Bearer " + admintest.AppToken})
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					req := admintest.NewRequest(t, e, r.method, concretePath(r.path), bodyFor(r))
					if c.header != "" {
						req.Header.Set("Authorization", c.header)
					}
					got := e.Send(req)
					if !protected {
						if got.Status == http.StatusUnauthorized {
							t.Errorf("open route answered 401")
						}
						return
					}
					if got.Status != http.StatusUnauthorized {
						t.Fatalf("status %d, want 401: %s", got.Status, got.Body)
					}
					if ch := got.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, `Bearer realm="riscd"`) {
						t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", ch)
					}
					if code := got.ErrorCode(t); code != admin.CodeUnauthorized {
						t.Errorf("error = %q, want %q", code, admin.CodeUnauthorized)
					}
				})
			}
		})
	}
	if n := len(e.Op.Calls()) + len(e.Broker.Calls()); n != 0 {
		t.Errorf("refused requests reached the operator or broker %d times", n)
	}
}

func TestWrongTokenChallengeNamesInvalidToken(t *testing.T) {
	e := admintest.New(t, nil)
	tests := []struct {
		name, token, want string
	}{
		{"missing", "", `Bearer realm="riscd"`},
		{"wrong", "nope-nope-nope-nope", `Bearer realm="riscd", error="invalid_token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.Do(http.MethodGet, "/admin/grants", tc.token, nil)
			if got := r.Header.Get("WWW-Authenticate"); got != tc.want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTokensAcceptedPerRoute(t *testing.T) {
	e := admintest.New(t, nil)
	e.MustAccount(admintest.AccountOf("sub-1"))
	tests := []struct {
		name, path, header string
	}{
		{"admin token on admin", "/admin/grants", "Bearer " + admintest.AdminToken},
		{"admin token on companion", "/v1/subjects/sub-1", "Bearer " + admintest.AdminToken},
		{"app token on companion", "/v1/subjects/sub-1", "Bearer " + admintest.AppToken},
		{"lower-case scheme", "/admin/grants", "bearer " + admintest.AdminToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := admintest.NewRequest(t, e, http.MethodGet, tc.path, nil)
			req.Header.Set("Authorization", tc.header)
			if got := e.Send(req); got.Status != http.StatusOK {
				t.Errorf("status %d, want 200: %s", got.Status, got.Body)
			}
		})
	}
}

func TestDisabledAPIs(t *testing.T) {
	t.Run("no admin token", func(t *testing.T) {
		e := admintest.New(t, func(c *admin.Config) { c.AdminToken = "" })
		e.MustAccount(admintest.AccountOf("sub-1"))
		for _, tok := range []string{"", admintest.AdminToken, admintest.AppToken} {
			r := e.Do(http.MethodGet, "/admin/grants", tok, nil)
			if r.Status != http.StatusServiceUnavailable || r.ErrorCode(t) != admin.CodeAdminDisabled {
				t.Errorf("token %q: got %d %s, want 503 admin_disabled", tok, r.Status, r.Body)
			}
		}
		if r := e.Do(http.MethodGet, "/v1/subjects/sub-1", admintest.AppToken, nil); r.Status != http.StatusOK {
			t.Errorf("app token on the companion API: got %d, want 200", r.Status)
		}
		if r := e.Do(http.MethodGet, "/v1/subjects/sub-1", admintest.AdminToken, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("an unconfigured admin token on the companion API: got %d, want 401", r.Status)
		}
	})
	t.Run("no app token", func(t *testing.T) {
		e := admintest.NewWith(t, nil, func(c *companion.Config) { c.AppToken = "" })
		e.MustAccount(admintest.AccountOf("sub-1"))
		if r := e.Do(http.MethodGet, "/v1/subjects/sub-1", admintest.AdminToken, nil); r.Status != http.StatusOK {
			t.Errorf("admin token: got %d, want 200", r.Status)
		}
		if r := e.Do(http.MethodGet, "/v1/subjects/sub-1", admintest.AppToken, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("an unconfigured app token: got %d, want 401", r.Status)
		}
	})
	t.Run("no token at all", func(t *testing.T) {
		e := admintest.NewWith(t, func(c *admin.Config) { c.AdminToken = "" }, func(c *companion.Config) { c.AppToken = "" })
		r := e.Do(http.MethodGet, "/v1/subjects/sub-1", "", nil)
		if r.Status != http.StatusServiceUnavailable || r.ErrorCode(t) != companion.CodeCompanionDisabled {
			t.Errorf("got %d %s, want 503 companion_disabled", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/healthz", "", nil); r.Status != http.StatusOK {
			t.Errorf("/healthz: got %d, want 200", r.Status)
		}
	})
}
