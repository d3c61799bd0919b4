package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/internal/testkit"
)

// runMain starts the daemon from configPath with environ and clock.
func runMain(t *testing.T, configPath string, environ []string, clock func() time.Time) *Main {
	t.Helper()
	l, err := load(configPath, environ, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: l.cfg, Secrets: l.secrets, Now: clock}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// internalGet GETs an internal API path with a bearer token and decodes
// the JSON answer into v.
func internalGet(t *testing.T, m *Main, path, token string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+m.InternalAddr()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode
}

// TestGrantWithoutRefreshToken: a provider may issue no refresh token
// (OpenID Connect Core 1.0 §11: offline access is the provider's to
// refuse). The grant says so from the start wherever it is reported (the
// companion API, the consent page, the admin API), and once its access
// token expires they all say reconsent_required, as POST /v1/token does.
func TestGrantWithoutRefreshToken(t *testing.T) {
	ctx := context.Background()
	sim := startSim(t)
	cfgPath := simConfig(t, sim)
	clock := testkit.NewClock(time.Now())
	m := runMain(t, cfgPath, nil, clock.Now)
	l, err := load(cfgPath, nil, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	app, adminTok := l.secrets.AppToken.Reveal(), l.secrets.AdminToken.Reveal()
	public := "http://" + m.PublicAddr()
	waitReady(t, "http://"+m.InternalAddr())
	alice := sim.Users()[0]

	// Consent without access_type=offline: Google issues no refresh token.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(public + "/authorize")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	auth, _ := url.Parse(resp.Header.Get("Location"))
	q := auth.Query()
	q.Del("access_type")
	auth.RawQuery = q.Encode()
	back, err := googlesim.Consent(ctx, browser, auth.String(), googlesim.Choice{User: alice.Email})
	if err != nil {
		t.Fatal(err)
	}
	if resp, err = browser.Get(back.String()); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback: %v %v", resp, err)
	}
	resp.Body.Close()
	grants, err := m.DB().GrantsBySub(ctx, alice.Sub)
	if err != nil || len(grants) != 1 || !grants[0].RefreshToken.IsZero() || grants[0].Expiry.IsZero() {
		t.Fatalf("grants %v %+v, want one without a refresh token, with an expiry", err, grants)
	}
	g := grants[0]

	type summary struct {
		ID, Status, Reason string
		HasRefreshToken    *bool      `json:"has_refresh_token"`
		AccessTokenExpiry  *time.Time `json:"access_token_expiry"`
	}
	subject := func() summary {
		var v struct{ Grants []summary }
		if code := internalGet(t, m, "/v1/subjects/"+url.PathEscape(alice.Sub), app, &v); code != http.StatusOK || len(v.Grants) != 1 {
			t.Fatalf("GET /v1/subjects: %d %+v", code, v)
		}
		return v.Grants[0]
	}
	var adminGrant struct {
		Status            string
		HasRefreshToken   *bool `json:"has_refresh_token"`
		ReconsentRequired *bool `json:"reconsent_required"`
	}
	index := func() string {
		resp, err := browser.Get(public + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	token := func() (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+m.InternalAddr()+"/v1/token",
			strings.NewReader(`{"sub": "`+alice.Sub+`", "scopes": ["openid"]}`))
		req.Header.Set("Authorization", "Bearer "+app)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// From the start: active, and no refresh token, everywhere.
	if s := subject(); s.Status != "active" || s.HasRefreshToken == nil || *s.HasRefreshToken ||
		s.AccessTokenExpiry == nil || !s.AccessTokenExpiry.Equal(g.Expiry) {
		t.Errorf("companion subject at consent: %+v, want active without a refresh token, with its expiry", s)
	}
	if code := internalGet(t, m, "/admin/grants/"+g.ID, adminTok, &adminGrant); code != http.StatusOK ||
		adminGrant.Status != "active" || adminGrant.HasRefreshToken == nil || *adminGrant.HasRefreshToken ||
		adminGrant.ReconsentRequired == nil || *adminGrant.ReconsentRequired {
		t.Errorf("admin grant at consent: %d %+v", code, adminGrant)
	}
	if p := index(); !strings.Contains(p, `data-grant="active" data-refresh-token="false"`) || !strings.Contains(p, "no refresh token") {
		t.Errorf("index at consent does not say the grant has no refresh token:\n%s", p)
	}
	if code, body := token(); code != http.StatusOK {
		t.Errorf("POST /v1/token at consent: %d %s", code, body)
	}

	// The access token expires: reconsent_required everywhere.
	clock.Advance(g.Expiry.Sub(clock.Now()) + time.Hour)
	if code, body := token(); code != http.StatusConflict || !strings.Contains(body, "reconsent_required") {
		t.Errorf("POST /v1/token after expiry: %d %s, want 409 reconsent_required", code, body)
	}
	if s := subject(); s.Status != "reconsent_required" || s.Reason != "no refresh token" {
		t.Errorf("companion subject after expiry: %+v, want reconsent_required", s)
	}
	if code := internalGet(t, m, "/admin/grants/"+g.ID, adminTok, &adminGrant); code != http.StatusOK ||
		adminGrant.ReconsentRequired == nil || !*adminGrant.ReconsentRequired {
		t.Errorf("admin grant after expiry: %d %+v", code, adminGrant)
	}
	if p := index(); !strings.Contains(p, `data-grant="reconsent_required"`) || strings.Contains(p, `data-enabled="true"`) {
		t.Errorf("index after expiry does not ask for a new consent:\n%s", p)
	}
}

// TestProviderOIDC: google.provider oidc (here from the environment) finds
// the endpoints through google.issuer's discovery document and asks for
// offline access the standard way; a document for another issuer stops
// start-up with an error naming google.issuer; an unknown provider is a
// config error naming google.provider.
func TestProviderOIDC(t *testing.T) {
	sim := startSim(t)
	cfgPath := simConfig(t, sim)
	m := runMain(t, cfgPath, []string{"RISCD_GOOGLE_PROVIDER=oidc"}, time.Now)
	if m.Config.Google.Provider != "oidc" {
		t.Fatalf("google.provider = %q, want oidc from RISCD_GOOGLE_PROVIDER", m.Config.Google.Provider)
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get("http://" + m.PublicAddr() + "/authorize?prompt=login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /authorize?prompt=login: %d %v", resp.StatusCode, err)
	}
	q := loc.Query()
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != sim.URL()+googlesim.PathAuthorize {
		t.Errorf("authorization endpoint %s, want the discovered one", got)
	}
	if !strings.Contains(" "+q.Get("scope")+" ", " offline_access ") || q.Get("prompt") != "login consent" || q.Has("access_type") {
		t.Errorf("authorization request scope %q prompt %q access_type %q", q.Get("scope"), q.Get("prompt"), q.Get("access_type"))
	}

	l, err := load(cfgPath, []string{"RISCD_GOOGLE_PROVIDER=oidc", "RISCD_GOOGLE_ISSUER=" + sim.URL() + "/other", "RISCD_LISTEN=127.0.0.1:0", "RISCD_INTERNAL_LISTEN=127.0.0.1:0", "RISCD_STORE_PATH=" + filepath.Join(t.TempDir(), "second.db")}, secretsOptions{needKey: true})
	if err != nil {
		t.Fatal(err)
	}
	bad := &Main{Config: l.cfg, Secrets: l.secrets}
	if err := bad.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "google.issuer") {
		bad.Close()
		t.Errorf("start with another issuer's discovery document: %v, want an error naming google.issuer", err)
	}

	errs := configErrors(t, cfgPath, []string{"RISCD_GOOGLE_PROVIDER=okta"})
	if len(errs) != 1 || errs[0].Key != "google.provider" || errs[0].File != cfgPath {
		t.Errorf("google.provider okta: %v, want one error naming the file and google.provider", errs)
	}
}
