package flowweb_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/googlesim"
)

// oidcEnv is the standard env with riscd set for a standard OpenID provider.
func oidcEnv(t *testing.T) *env {
	return newEnv(t, envOptions{config: func(c *flowweb.Config) {
		c.Provider = flowweb.ProviderOIDC
		c.ProviderName = "id.example.test"
	}})
}

// TestAuthorizeOfflineAccess: Google is asked for a refresh token with
// access_type=offline; a standard OpenID provider with the offline_access
// scope and prompt=consent (OpenID Connect Core 1.0 §11), never with
// Google's parameters.
func TestAuthorizeOfflineAccess(t *testing.T) {
	g := newEnv(t, envOptions{}).startAuth("").Query()
	if g.Get("access_type") != "offline" || g.Get("include_granted_scopes") != "true" ||
		slices.Contains(strings.Fields(g.Get("scope")), "offline_access") || g.Get("prompt") != "" {
		t.Errorf("google: access_type %q include_granted_scopes %q scope %q prompt %q",
			g.Get("access_type"), g.Get("include_granted_scopes"), g.Get("scope"), g.Get("prompt"))
	}
	e := oidcEnv(t)
	for _, tc := range []struct{ query, prompt string }{
		{"", "consent"},
		{"?prompt=login", "login consent"},
		{"?prompt=consent", "consent"},
		{"?prompt=select_account%20login", "select_account login consent"},
		{"?prompt=none", "none"},
	} {
		q := e.startAuth(tc.query).Query()
		if !slices.Contains(strings.Fields(q.Get("scope")), "offline_access") || q.Get("prompt") != tc.prompt ||
			q.Has("access_type") || q.Has("include_granted_scopes") {
			t.Errorf("oidc %q: scope %q prompt %q (want %q) access_type %q include_granted_scopes %q",
				tc.query, q.Get("scope"), q.Get("prompt"), tc.prompt, q.Get("access_type"), q.Get("include_granted_scopes"))
		}
	}
}

// TestAuthorizePromptLogin: prompt=login is OpenID Connect Core 1.0
// §3.1.2.1's; Google does not define it.
func TestAuthorizePromptLogin(t *testing.T) {
	if p := newEnv(t, envOptions{}).get("/authorize?prompt=login"); p.status != http.StatusBadRequest || p.code() != "bad_authorize_request" {
		t.Errorf("google, prompt=login: status %d code %q, want 400", p.status, p.code())
	}
	e := oidcEnv(t)
	if p := e.get("/authorize?prompt=login"); p.status != http.StatusFound {
		t.Errorf("oidc, prompt=login: status %d code %q, want 302", p.status, p.code())
	}
	if p := e.get("/authorize?prompt=none%20login"); p.status != http.StatusBadRequest {
		t.Errorf("oidc, prompt=none login: status %d, want 400", p.status)
	}
}

// TestOIDCErrorPages: OpenID Connect Core 1.0 §3.1.2.6's error codes get
// their own pages, which name the provider.
func TestOIDCErrorPages(t *testing.T) {
	e := oidcEnv(t)
	for code, words := range map[string]string{
		"login_required":             "sign in",
		"interaction_required":       "ask you something",
		"account_selection_required": "more than one account",
		"consent_required":           "consent",
	} {
		auth := e.startAuth("")
		cb, _ := url.Parse(e.srv.URL + "/oauth2callback")
		cb = withQuery(withQuery(cb, "state", auth.Query().Get("state")), "error", code)
		p := e.get(cb.String())
		if p.status != http.StatusUnauthorized || p.code() != code {
			t.Errorf("%s: status %d code %q, want 401 and its own page", code, p.status, p.code())
		}
		if !strings.Contains(p.body, words) || !strings.Contains(p.body, "id.example.test") || strings.Contains(p.body, "Google") {
			t.Errorf("%s: the page does not explain it in the provider's name:\n%s", code, p.body)
		}
	}
}

// TestPagesNameTheProvider: with a provider other than Google no page says
// Google.
func TestPagesNameTheProvider(t *testing.T) {
	e := oidcEnv(t)
	if p := e.index(); strings.Contains(p.body, "Google") || !strings.Contains(p.body, "Connect with id.example.test") {
		t.Errorf("index before consent:\n%s", p.body)
	}
	// googlesim does not know offline_access: its refusal's page.
	if p := e.get(e.consent(e.startAuth(""), googlesim.Choice{}).String()); p.code() != "invalid_scope" ||
		strings.Contains(p.body, "Google") || !strings.Contains(p.body, "id.example.test did not recognise") {
		t.Errorf("error page (code %q):\n%s", p.code(), p.body)
	}
	if p := e.get("/features/drive"); p.code() != "not_signed_in" || strings.Contains(p.body, "Google") {
		t.Errorf("feature page (code %q):\n%s", p.code(), p.body)
	}
	if g := newEnv(t, envOptions{}).index(); !strings.Contains(g.body, "Connect with Google") {
		t.Errorf("google index:\n%s", g.body)
	}
}

// TestIDTokenAlgorithmPinned: googlesim signs RS256; riscd configured for
// ES256 alone refuses its ID tokens, and for the standard list accepts them.
func TestIDTokenAlgorithmPinned(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *flowweb.Config) { c.IDTokenAlgorithms = []string{"ES256"} }})
	before := e.snapshot()
	cb := e.consent(e.startAuth(""), googlesim.Choice{})
	e.assertRefused(e.get(cb.String()), http.StatusBadGateway, "bad_id_token", before)
	if !strings.Contains(e.logs.String(), "algorithm") {
		t.Errorf("the log does not name the refused algorithm:\n%s", e.logs.String())
	}
	newEnv(t, envOptions{config: func(c *flowweb.Config) { c.IDTokenAlgorithms = flowweb.AllowedIDTokenAlgorithms() }}).
		connect("", googlesim.Choice{})
}

func TestNewRefusesUnsafeAlgorithms(t *testing.T) {
	db := newEnv(t, envOptions{}).db
	for _, alg := range []string{"none", "HS256", "HS512", "rs256"} {
		_, err := flowweb.New(context.Background(), flowweb.Config{
			PublicURL: "http://127.0.0.1:1", ClientID: "c", ClientSecret: "s", Store: db,
			IDTokenAlgorithms: []string{alg},
		})
		if !errors.Is(err, flowweb.ErrInvalidConfig) || !strings.Contains(err.Error(), "IDTokenAlgorithms") {
			t.Errorf("%s: %v, want an IDTokenAlgorithms error", alg, err)
		}
	}
	_, err := flowweb.New(context.Background(), flowweb.Config{
		PublicURL: "http://127.0.0.1:1", ClientID: "c", ClientSecret: "s", Store: db, Provider: "okta",
	})
	if !errors.Is(err, flowweb.ErrInvalidConfig) || !strings.Contains(err.Error(), "Provider") {
		t.Errorf("provider okta: %v, want a Provider error", err)
	}
}

// TestDiscover reads a discovery document (OpenID Connect Discovery 1.0) and
// refuses one for another issuer or without an acceptable algorithm.
func TestDiscover(t *testing.T) {
	var doc map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(srv.Close)
	good := func() map[string]any {
		return map[string]any{
			"issuer": srv.URL, "authorization_endpoint": srv.URL + "/auth", "token_endpoint": srv.URL + "/token",
			"jwks_uri": srv.URL + "/jwks", "revocation_endpoint": srv.URL + "/revoke",
			"id_token_signing_alg_values_supported": []string{"HS256", "ES256", "none", "RS256"},
		}
	}
	doc = good()
	d, err := flowweb.Discover(context.Background(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if algs, _ := d.IDTokenAlgorithms(); !slices.Equal(algs, []string{"RS256", "ES256"}) || d.TokenEndpoint != srv.URL+"/token" || d.RevocationEndpoint != srv.URL+"/revoke" {
		t.Errorf("discovered %+v algorithms %v", d, algs)
	}
	for name, edit := range map[string]func(map[string]any){
		"other issuer":       func(m map[string]any) { m["issuer"] = "https://evil.example" },
		"only HMAC and none": func(m map[string]any) { m["id_token_signing_alg_values_supported"] = []string{"HS256", "none"} },
		"no token endpoint":  func(m map[string]any) { delete(m, "token_endpoint") },
		"relative jwks_uri":  func(m map[string]any) { m["jwks_uri"] = "/jwks" },
	} {
		doc = good()
		edit(doc)
		if _, err := flowweb.Discover(context.Background(), srv.Client(), srv.URL); !errors.Is(err, flowweb.ErrDiscovery) {
			t.Errorf("%s: %v, want ErrDiscovery", name, err)
		}
	}
}
