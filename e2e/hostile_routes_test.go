package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// openAPIRoute is one operation of riscd's OpenAPI document.
type openAPIRoute struct {
	method, path string
	admin        bool // the admin token is the only one accepted
}

// fetchRoutes reads GET /admin/openapi.json with the admin token and
// returns every operation that needs a token.
func fetchRoutes(t *testing.T, r *rig) []openAPIRoute {
	t.Helper()
	r = r.as(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	r.adminJSON(context.Background(), "/admin/openapi.json", &doc)
	var routes []openAPIRoute
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if len(op.Security) == 0 {
				continue
			}
			admin := true
			for _, s := range op.Security {
				if _, ok := s["appToken"]; ok {
					admin = false
				}
			}
			routes = append(routes, openAPIRoute{method: strings.ToUpper(method), path: path, admin: admin})
		}
	}
	slices.SortFunc(routes, func(a, b openAPIRoute) int { return strings.Compare(a.path+a.method, b.path+b.method) })
	return routes
}

// testRouteAuth calls every authenticated route of the internal listener,
// with its parameters naming real records, without a token and with wrong
// ones: each answers 401 with a Bearer challenge, leaks nothing and does
// nothing. The right token still works on the reading routes.
func testRouteAuth(t *testing.T, r *rig, sub, grantID string) {
	ctx := context.Background()
	r = r.as(t)
	routes := fetchRoutes(t, r)
	if len(routes) < 10 {
		t.Fatalf("openapi.json lists %d authenticated routes, want the admin and companion APIs", len(routes))
	}
	eventID := strconv.FormatUint(r.newestEventID(ctx), 10)
	basic := base64.StdEncoding.EncodeToString([]byte("admin:" + r.adminToken))
	for _, rt := range routes {
		path := strings.NewReplacer("{id}", grantID, "{sub}", sub).Replace(rt.path)
		if strings.HasPrefix(rt.path, "/admin/events/") {
			path = strings.ReplaceAll(rt.path, "{id}", eventID)
		}
		var body any
		if rt.method == http.MethodPost && rt.path == "/v1/token" {
			body = map[string]any{"sub": sub, "scopes": []string{"openid"}}
		}
		creds := []struct{ name, header string }{
			{"no token", ""},
			{"wrong bearer token", "Bearer not-the-token-0123456789abcdef"},
			{"admin token with a suffix", "Bearer " + r.adminToken + "x"},
			{"admin token truncated", "Bearer " + r.adminToken[:len(r.adminToken)-1]},
			{"admin token as basic credentials", "Basic " + basic},
			{"admin token without a scheme", r.adminToken},
		}
		if rt.admin {
			creds = append(creds, struct{ name, header string }{"app token on an admin route", "Bearer " + r.appToken})
		}
		for _, c := range creds {
			t.Run(rt.method+" "+rt.path+" "+c.name, func(t *testing.T) {
				a := rawAuthRequest(t, r, rt.method, path, c.header, body)
				if a.status != http.StatusUnauthorized {
					t.Errorf("%s %s (%s) = %d %.200s, want 401", rt.method, path, c.name, a.status, a.body)
				}
				if ch := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer ") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", ch)
				}
				for _, secret := range []string{sub, grantID, r.adminToken, r.appToken, "alice"} {
					if strings.Contains(a.body, secret) {
						t.Errorf("the 401 answer shows %q: %s", secret, a.body)
					}
				}
			})
		}
		if rt.method == http.MethodGet {
			if code, b, err := r.do(ctx, rt.method, r.internal+path, r.adminToken, nil); err != nil || code == http.StatusUnauthorized || code >= 500 {
				t.Errorf("%s %s with the admin token = %d %.200s %v, want an answer", rt.method, path, code, b, err)
			}
		}
	}
}

// rawAuthRequest sends method path to the internal listener with the
// Authorization header given (none when empty) and a JSON body.
func rawAuthRequest(t *testing.T, r *rig, method, path, auth string, body any) rawAnswer {
	t.Helper()
	h := http.Header{}
	if auth != "" {
		h.Set("Authorization", auth)
	}
	var b string
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		b = string(data)
		h.Set("Content-Type", "application/json")
	}
	return rawRequest(t, r.internal, method, path, h, b)
}

// testPathTricks sends dot segments, encoded slashes and doubled slashes to
// the static and admin routes, without and with the admin token: each
// answers as the table says, and only the stylesheet's own path serves it.
func testPathTricks(t *testing.T, r *rig, grantID string) {
	const css = "/static/riscd.css"
	for _, tc := range []struct {
		path string
		want int
	}{
		{css, http.StatusOK},
		{css + "?x=../../go.mod", http.StatusOK},
		{"/static/../static/riscd.css", http.StatusNotFound},
		{"/static/%2e%2e/static/riscd.css", http.StatusNotFound},
		{"/static/..%2fstatic/riscd.css", http.StatusNotFound},
		{"/static%2friscd.css", http.StatusNotFound},
		{"//static/riscd.css", http.StatusNotFound},
		{"/static//riscd.css", http.StatusNotFound},
		{"/./static/riscd.css", http.StatusNotFound},
		{"/static/riscd.css/.", http.StatusNotFound},
		{"/static/riscd.css%00", http.StatusNotFound},
		{"/static/", http.StatusNotFound},
		{"/static/..%5c..%5cgo.mod", http.StatusNotFound},
		{"/static/../../../../etc/passwd", http.StatusNotFound},
		{"/%2e%2e/%2e%2e/etc/passwd", http.StatusNotFound},
		{"/features/..%2f..%2fstatic%2friscd.css", http.StatusNotFound},
		{"/risc/../admin/grants", http.StatusNotFound},
		{"/admin/grants", http.StatusNotFound},
		{"/metrics", http.StatusNotFound},
	} {
		a := rawRequest(t, r.public, http.MethodGet, tc.path, nil, "")
		if a.status != tc.want {
			t.Errorf("public GET %s = %d, want %d", tc.path, a.status, tc.want)
		}
		if tc.want != http.StatusOK && strings.Contains(a.body, "riscd's consent pages") {
			t.Errorf("public GET %s served the stylesheet", tc.path)
		}
		if strings.Contains(a.body, "module github.com") || strings.Contains(a.body, "root:") {
			t.Errorf("public GET %s served a file off the disk: %.100s", tc.path, a.body)
		}
	}
	// Internal listener: the answer without a token, then with the admin token.
	for _, tc := range []struct {
		method, path       string
		noToken, withToken int
	}{
		{http.MethodGet, "/admin/grants/..%2f..%2fmetrics", 401, 404},
		{http.MethodGet, "//admin/grants", 404, 404},
		{http.MethodGet, "/admin//grants", 404, 404},
		{http.MethodGet, "/admin/./grants", 404, 404},
		{http.MethodGet, "/admin/grants/../grants", 401, 404},
		{http.MethodGet, "/ADMIN/grants", 404, 404},
		{http.MethodGet, "/admin/grants%2f", 404, 404},
		{http.MethodGet, "/admin/%67rants", 404, 404},
		{http.MethodGet, "/admin/grants/%2e%2e", 401, 404},
		{http.MethodGet, "/admin/events/..%2f..%2fadmin%2fgrants", 401, 400},
		{http.MethodGet, "/admin/accounts/..%2fgrants", 401, 404},
		{http.MethodGet, "/v1/subjects/..%2f..%2fadmin%2fgrants", 401, 404},
		{http.MethodGet, "/metrics/../admin/grants", 404, 404},
		{http.MethodGet, "/healthz/../admin/grants", 404, 404},
		{http.MethodGet, "/readyz%2f..%2fadmin%2fgrants", 404, 404},
		{http.MethodDelete, "/admin/grants/" + grantID + "%2f..", 401, 404},
		{http.MethodDelete, "/admin/grants/..%2f" + grantID, 401, 404},
		{http.MethodDelete, "//admin/grants/" + grantID, 404, 404},
		{http.MethodDelete, "/admin/grants/" + grantID + "/", 401, 404},
	} {
		a := rawRequest(t, r.internal, tc.method, tc.path, nil, "")
		if a.status != tc.noToken {
			t.Errorf("internal %s %s without a token = %d %.100s, want %d", tc.method, tc.path, a.status, a.body, tc.noToken)
		}
		a = rawRequest(t, r.internal, tc.method, tc.path, http.Header{"Authorization": {"Bearer " + r.adminToken}}, "")
		if a.status != tc.withToken {
			t.Errorf("internal %s %s with the admin token = %d %.100s, want %d", tc.method, tc.path, a.status, a.body, tc.withToken)
		}
	}
}
