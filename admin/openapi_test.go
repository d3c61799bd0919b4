package admin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
)

// apiDoc is the part of the OpenAPI document the tests read.
type apiDoc struct {
	OpenAPI    string                          `json:"openapi"`
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
	} `json:"components"`
}

type operation struct {
	OperationID string                 `json:"operationId"`
	Security    *[]map[string][]string `json:"security"`
	Responses   map[string]any         `json:"responses"`
}

// route is one (method, OpenAPI path) pair.
type route struct{ method, path string }

func (r route) String() string { return r.method + " " + r.path }

// docRoutes lists the operations of the document, sorted.
func docRoutes(tb testing.TB) ([]route, map[route]operation) {
	tb.Helper()
	var doc apiDoc
	if err := json.Unmarshal(admin.OpenAPI(), &doc); err != nil {
		tb.Fatalf("openapi.json: %v", err)
	}
	ops := map[route]operation{}
	var out []route
	for p, methods := range doc.Paths {
		for m, op := range methods {
			r := route{strings.ToUpper(m), p}
			ops[r] = op
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b route) int { return strings.Compare(a.String(), b.String()) })
	return out, ops
}

var echoParam = regexp.MustCompile(`:([a-z_]+)`)

// registeredRoutes lists the routes of the JSON APIs (the admin package's
// Register and the companion API's), in OpenAPI spelling, sorted. The
// admin page's routes (package adminpage) are not among them.
func registeredRoutes(tb testing.TB) []route {
	tb.Helper()
	e := admintest.New(tb, nil)
	ec := e.Handler.(*echo.Echo)
	var out []route
	for _, r := range ec.Routes() {
		out = append(out, route{r.Method, echoParam.ReplaceAllString(r.Path, "{$1}")})
	}
	slices.SortFunc(out, func(a, b route) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func TestOpenAPIListsExactlyTheRegisteredRoutes(t *testing.T) {
	registered := registeredRoutes(t)
	documented, _ := docRoutes(t)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is registered but not in openapi.json", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(registered, r) {
			t.Errorf("%s is in openapi.json but not registered", r)
		}
	}
	if len(registered) < 16 {
		t.Errorf("got %d registered routes, want at least 16: %v", len(registered), registered)
	}
	for _, r := range documented {
		if r.path == "/admin/ui" || strings.HasPrefix(r.path, "/admin/ui/") {
			t.Errorf("%s: the admin page's HTML routes do not belong in openapi.json", r)
		}
	}
}

func TestOpenAPIDocumentIsComplete(t *testing.T) {
	var doc apiDoc
	if err := json.Unmarshal(admin.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	routes, ops := docRoutes(t)
	seen := map[string]bool{}
	for _, r := range routes {
		op := ops[r]
		t.Run(r.String(), func(t *testing.T) {
			if op.OperationID == "" || seen[op.OperationID] {
				t.Errorf("operationId %q is empty or repeated", op.OperationID)
			}
			seen[op.OperationID] = true
			if op.Security == nil {
				t.Fatalf("no security requirement (use [] for an open route)")
			}
			protected := strings.HasPrefix(r.path, "/admin/") || strings.HasPrefix(r.path, "/v1/")
			if got := len(*op.Security) > 0; got != protected {
				t.Errorf("protected = %v, want %v", got, protected)
			}
			for _, req := range *op.Security {
				for name := range req {
					if _, ok := doc.Components.SecuritySchemes[name]; !ok {
						t.Errorf("security scheme %q is not defined", name)
					}
				}
			}
			if protected {
				if _, ok := op.Responses["401"]; !ok {
					t.Errorf("a protected route documents no 401")
				}
			}
		})
	}
	// Every $ref points at something defined.
	var tree any
	if err := json.Unmarshal(admin.OpenAPI(), &tree); err != nil {
		t.Fatal(err)
	}
	walkRefs(t, tree, tree)
}

func walkRefs(t *testing.T, root, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok {
			node := root
			for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
				m, _ := node.(map[string]any)
				node = m[part]
			}
			if node == nil {
				t.Errorf("$ref %s resolves to nothing", ref)
			}
		}
		for _, m := range x {
			walkRefs(t, root, m)
		}
	case []any:
		for _, m := range x {
			walkRefs(t, root, m)
		}
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	e := admintest.New(t, nil)
	r := e.Get("/admin/openapi.json", http.StatusOK)
	if !bytes.Equal(r.Body, admin.OpenAPI()) {
		t.Errorf("served document differs from the embedded one")
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}
