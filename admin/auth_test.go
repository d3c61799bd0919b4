package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/riscd/riscd/admin"
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
	e := newEnv(t, nil)
	routes, ops := docRoutes(t)
	bad := []struct {
		name   string
		header string // Authorization; "" sends none
	}{
		{"no header", ""},
		{"wrong token", "Bearer not-the-token-0123456789"},
		{"admin token with a suffix", "Bearer " + adminToken + "x"},
		{"admin token prefix", "Bearer " + adminToken[:len(adminToken)-1]},
		{"empty bearer", "Bearer "},
		{"basic scheme", "Basic " + adminToken},
		{"token without scheme", adminToken},
	}
	for _, r := range routes {
		op := ops[r]
		protected := op.Security != nil && len(*op.Security) > 0
		t.Run(r.String(), func(t *testing.T) {
			cases := bad
			if strings.HasPrefix(r.path, "/admin/") {
				cases = append(cases, struct{ name, header string }{"app token on an admin route", "Bearer " + appToken})
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					req := newRequest(t, e, r.method, concretePath(r.path), bodyFor(r))
					if c.header != "" {
						req.Header.Set("Authorization", c.header)
					}
					got := e.send(req)
					if !protected {
						if got.status == http.StatusUnauthorized {
							t.Errorf("open route answered 401")
						}
						return
					}
					if got.status != http.StatusUnauthorized {
						t.Fatalf("status %d, want 401: %s", got.status, got.body)
					}
					if ch := got.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, `Bearer realm="riscd"`) {
						t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", ch)
					}
					if code := got.errorCode(t); code != admin.CodeUnauthorized {
						t.Errorf("error = %q, want %q", code, admin.CodeUnauthorized)
					}
				})
			}
		})
	}
	if n := len(e.op.calls()) + len(e.broker.calls()); n != 0 {
		t.Errorf("refused requests reached the operator or broker %d times", n)
	}
}

func TestWrongTokenChallengeNamesInvalidToken(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, token, want string
	}{
		{"missing", "", `Bearer realm="riscd"`},
		{"wrong", "nope-nope-nope-nope", `Bearer realm="riscd", error="invalid_token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodGet, "/admin/grants", tc.token, nil)
			if got := r.header.Get("WWW-Authenticate"); got != tc.want {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTokensAcceptedPerRoute(t *testing.T) {
	e := newEnv(t, nil)
	e.mustAccount(accountOf("sub-1"))
	tests := []struct {
		name, path, header string
	}{
		{"admin token on admin", "/admin/grants", "Bearer " + adminToken},
		{"admin token on companion", "/v1/subjects/sub-1", "Bearer " + adminToken},
		{"app token on companion", "/v1/subjects/sub-1", "Bearer " + appToken},
		{"lower-case scheme", "/admin/grants", "bearer " + adminToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, e, http.MethodGet, tc.path, nil)
			req.Header.Set("Authorization", tc.header)
			if got := e.send(req); got.status != http.StatusOK {
				t.Errorf("status %d, want 200: %s", got.status, got.body)
			}
		})
	}
}

func TestDisabledAPIs(t *testing.T) {
	t.Run("no admin token", func(t *testing.T) {
		e := newEnv(t, func(c *admin.Config) { c.AdminToken = "" })
		e.mustAccount(accountOf("sub-1"))
		for _, tok := range []string{"", adminToken, appToken} {
			r := e.do(http.MethodGet, "/admin/grants", tok, nil)
			if r.status != http.StatusServiceUnavailable || r.errorCode(t) != admin.CodeAdminDisabled {
				t.Errorf("token %q: got %d %s, want 503 admin_disabled", tok, r.status, r.body)
			}
		}
		if r := e.do(http.MethodGet, "/v1/subjects/sub-1", appToken, nil); r.status != http.StatusOK {
			t.Errorf("app token on the companion API: got %d, want 200", r.status)
		}
		if r := e.do(http.MethodGet, "/v1/subjects/sub-1", adminToken, nil); r.status != http.StatusUnauthorized {
			t.Errorf("an unconfigured admin token on the companion API: got %d, want 401", r.status)
		}
	})
	t.Run("no app token", func(t *testing.T) {
		e := newEnvWith(t, nil, func(c *companion.Config) { c.AppToken = "" })
		e.mustAccount(accountOf("sub-1"))
		if r := e.do(http.MethodGet, "/v1/subjects/sub-1", adminToken, nil); r.status != http.StatusOK {
			t.Errorf("admin token: got %d, want 200", r.status)
		}
		if r := e.do(http.MethodGet, "/v1/subjects/sub-1", appToken, nil); r.status != http.StatusUnauthorized {
			t.Errorf("an unconfigured app token: got %d, want 401", r.status)
		}
	})
	t.Run("no token at all", func(t *testing.T) {
		e := newEnvWith(t, func(c *admin.Config) { c.AdminToken = "" }, func(c *companion.Config) { c.AppToken = "" })
		r := e.do(http.MethodGet, "/v1/subjects/sub-1", "", nil)
		if r.status != http.StatusServiceUnavailable || r.errorCode(t) != companion.CodeCompanionDisabled {
			t.Errorf("got %d %s, want 503 companion_disabled", r.status, r.body)
		}
		if r := e.do(http.MethodGet, "/healthz", "", nil); r.status != http.StatusOK {
			t.Errorf("/healthz: got %d, want 200", r.status)
		}
	})
}
