package flowweb_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/store/boltdb"
)

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{Scopes: []string{driveScope}})
	csp := "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' " + e.sim.URL() +
		"; frame-ancestors 'none'; base-uri 'none'"
	pages := map[string]page{
		"index":           e.get("/"),
		"authorize":       e.get("/authorize"),
		"bad authorize":   e.get("/authorize?prompt=bad"),
		"bad callback":    e.get("/oauth2callback?state=x&code=y"),
		"feature":         e.get("/features/drive"),
		"not enabled":     e.get("/features/calendar"),
		"unknown feature": e.get("/features/none"),
		"forbidden post":  e.post("/clear", url.Values{}, nil),
		"stylesheet":      e.get("/static/riscd.css"),
		"signed out":      e.post("/clear", url.Values{"csrf": {e.index().csrf()}}, nil),
	}
	for name, p := range pages {
		t.Run(name, func(t *testing.T) {
			want := map[string]string{
				"Content-Security-Policy": csp,
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "no-referrer",
				"X-Content-Type-Options":  "nosniff",
			}
			for k, v := range want {
				if got := p.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if name != "stylesheet" && p.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", p.header.Get("Cache-Control"))
			}
			body := strings.ToLower(p.body)
			for _, bad := range []string{"<script", " style=", "<style", "http://", "https://fonts"} {
				if name != "feature" && name != "authorize" && strings.Contains(body, bad) {
					t.Errorf("page contains %q: external assets or inline code", bad)
				}
			}
		})
	}
	if ct := pages["stylesheet"].header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("stylesheet Content-Type %q", ct)
	}
}

func TestRegisterLeavesOtherRoutesAlone(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.echo.POST("/risc", func(c echo.Context) error { return c.NoContent(http.StatusAccepted) })
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/risc", strings.NewReader("x"))
	p := e.do(req)
	if p.status != http.StatusAccepted || p.header.Get("Content-Security-Policy") != "" {
		t.Errorf("/risc: status %d CSP %q, want 202 without flowweb's headers", p.status, p.header.Get("Content-Security-Policy"))
	}
	p = e.get("/no/such/page")
	if p.status != http.StatusNotFound || p.header.Get("Content-Security-Policy") != "" {
		t.Errorf("unknown path: status %d CSP %q, want echo's 404 (no catch-all)", p.status, p.header.Get("Content-Security-Policy"))
	}
}

func TestPublicURLWithPath(t *testing.T) {
	e := newEnv(t, envOptions{basePath: "/riscd"})
	if got, want := e.h.RedirectURI(), e.srv.URL+"/riscd/oauth2callback"; got != want {
		t.Errorf("RedirectURI = %q, want %q", got, want)
	}
	p := e.get("/riscd/authorize")
	if p.status != http.StatusFound || p.loc.Query().Get("redirect_uri") != e.srv.URL+"/riscd/oauth2callback" {
		t.Fatalf("authorize: status %d", p.status)
	}
	cb := e.consent(p.loc, googlesim.Choice{})
	p = e.get(cb.String())
	if p.status != http.StatusSeeOther || p.loc.Path != "/riscd/" {
		t.Fatalf("callback: status %d location %v (%s), want 303 to /riscd/", p.status, p.loc, p.code())
	}
	idx := e.get("/riscd/")
	if idx.status != http.StatusOK || !strings.Contains(idx.body, `href="/riscd/static/riscd.css"`) || !strings.Contains(idx.body, `action="/riscd/revoke"`) {
		t.Errorf("index under /riscd/: status %d, links not prefixed", idx.status)
	}
	if p := e.get("/authorize"); p.status != http.StatusNotFound {
		t.Errorf("/authorize outside the prefix: status %d, want 404", p.status)
	}
}

func TestSecureCookiesOverHTTPS(t *testing.T) {
	// PublicURL says https (a TLS proxy in front); the test talks plain HTTP
	// to the listener behind it.
	e := newEnv(t, envOptions{config: func(c *flowweb.Config) { c.PublicURL = "https://riscd.example.com" }})
	p := e.get("/authorize")
	if ck := setCookieHeader(t, p.header, "riscd_flow"); !ck.Secure {
		t.Error("the flow cookie is not Secure under an https PublicURL")
	}
	if got := p.loc.Query().Get("redirect_uri"); got != "https://riscd.example.com/oauth2callback" {
		t.Errorf("redirect_uri = %q", got)
	}
}

func TestNewConfig(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	grants, err := lifecycle.New(lifecycle.Config{Store: db, RevokeURL: "http://127.0.0.1:1/revoke"})
	if err != nil {
		t.Fatal(err)
	}
	good := flowweb.Config{PublicURL: "https://riscd.example.com", ClientID: "id", ClientSecret: "secret", Store: db, Grants: grants}
	if _, err := flowweb.New(ctx, good); err != nil {
		t.Fatalf("New(minimal config with Google defaults): %v", err)
	}
	bad := flowweb.Config{
		PublicURL:      "ftp://x",
		AuthURL:        "not a url",
		IDTokenIssuers: []string{""},
		Scopes:         []string{"two words"},
		Features:       map[string]flowweb.Feature{"Bad Name": {Scope: "", TestURL: "/relative"}},
		FlowTTL:        time.Hour,
	}
	_, err = flowweb.New(ctx, bad)
	if !errors.Is(err, flowweb.ErrInvalidConfig) {
		t.Fatalf("New(bad) = %v, want ErrInvalidConfig", err)
	}
	for _, field := range []string{"PublicURL", "ClientID", "ClientSecret", "AuthURL", "IDTokenIssuers", "Scopes",
		"Features", "Features.Bad Name.Scope", "Features.Bad Name.TestURL", "Store", "Grants", "FlowTTL"} {
		if !strings.Contains(err.Error(), field+":") {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
	secret := flowweb.Config{PublicURL: "https://x.example.com?q=1", ClientID: "id", ClientSecret: "GOCSPX-very-secret", Store: db}
	if _, err := flowweb.New(ctx, secret); err == nil || strings.Contains(err.Error(), "GOCSPX-very-secret") {
		t.Errorf("New = %v, want an error that does not quote the secret", err)
	}
}

func TestNewDoesNotFetchKeys(t *testing.T) {
	e := newEnv(t, envOptions{})
	if got := e.sim.Stats().Requests[googlesim.EndpointJWKS]; got != 0 {
		t.Errorf("New fetched the JWKS %d times, want 0 (lazily on first callback)", got)
	}
}

func openStore(t *testing.T) *boltdb.DB {
	t.Helper()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(context.Background(), boltdb.Options{Path: t.TempDir() + "/riscd.db", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
