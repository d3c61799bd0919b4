package flowweb_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/store/boltdb"
)

// nodeOPDir holds the oidc-provider server script; .ci/run installs its
// node_modules with npm ci.
const nodeOPDir = "testdata/oidc-provider"

const (
	nodeOPClientID     = "riscd"
	nodeOPClientSecret = "node-op-test-client-secret"
)

// startNodeOP runs the oidc-provider npm package (a third-party OpenID
// provider) under Node on loopback and returns its issuer. Without node or
// the installed package the test fails under CI and is skipped elsewhere.
func startNodeOP(t *testing.T, redirectURI string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(nodeOPDir, "node_modules", "oidc-provider", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or oidc-provider missing (%v): .ci/run installs nodejs and runs npm ci in flowweb/%s", err, nodeOPDir)
		}
		t.Skipf("node or oidc-provider missing (%v): install nodejs and run npm ci in flowweb/%s", err, nodeOPDir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "server.mjs")
	cmd.Dir = nodeOPDir
	cmd.Env = append(os.Environ(),
		"RISCD_OP_CLIENT_ID="+nodeOPClientID,
		"RISCD_OP_CLIENT_SECRET="+nodeOPClientSecret,
		"RISCD_OP_REDIRECT_URI="+redirectURI,
	)
	stdin, err := cmd.StdinPipe() // the server exits when it closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &testkit.SyncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cancel()
			<-done
		}
		cancel()
		if t.Failed() {
			t.Logf("oidc-provider's stderr:\n%s", stderr.String())
		}
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var first string
	select {
	case first = <-line:
	case <-time.After(time.Minute):
		t.Fatalf("oidc-provider printed no issuer within a minute; stderr:\n%s", stderr.String())
	}
	var hello struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal([]byte(first), &hello); err != nil || !strings.HasPrefix(hello.Issuer, "http://127.0.0.1:") {
		t.Fatalf("oidc-provider's first line %q (%v), want {\"issuer\": ...}; stderr:\n%s", first, err, stderr.String())
	}
	return hello.Issuer
}

// oidcFlow is riscd's consent flow set up from a provider's discovery
// document, on its own loopback server.
type oidcFlow struct {
	*env
	disc flowweb.Discovery
}

// newOIDCFlow starts riscd's public server first (the provider needs its
// redirect URI), then the provider through start, then riscd's flow with
// google.provider oidc and what discovery says.
func newOIDCFlow(t *testing.T, clientID, clientSecret string, provider string, features map[string]string, start func(redirectURI string) string) *oidcFlow {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, clock: newTestClock(), logs: &testkit.SyncBuffer{}}
	e.echo = echo.New()
	e.echo.HideBanner, e.echo.HidePort = true, true
	e.srv = httptest.NewServer(e.echo)
	t.Cleanup(e.srv.Close)
	issuer := start(e.srv.URL + "/oauth2callback")

	disc, err := flowweb.Discover(ctx, http.DefaultClient, issuer)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	algs, err := disc.IDTokenAlgorithms()
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e.db, err = boltdb.Open(ctx, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	fs := map[string]flowweb.Feature{}
	for name, scope := range features {
		fs[name] = flowweb.Feature{Scope: scope, TestURL: disc.UserinfoEndpoint}
	}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.lc, err = lifecycle.New(lifecycle.Config{
		Store: e.db, RevokeURL: disc.RevocationEndpoint,
		ClientID: clientID, ClientSecret: riscd.Secret(clientSecret), TokenURL: disc.TokenEndpoint,
		Now: e.clock.Now, Logger: logger,
	})
	if err != nil {
		t.Fatalf("lifecycle.New: %v", err)
	}
	e.h, err = flowweb.New(ctx, flowweb.Config{
		Provider:          provider,
		PublicURL:         e.srv.URL,
		ClientID:          clientID,
		ClientSecret:      riscd.Secret(clientSecret),
		AuthURL:           disc.AuthorizationEndpoint,
		TokenURL:          disc.TokenEndpoint,
		IDTokenIssuers:    []string{disc.Issuer},
		IDTokenJWKSURL:    disc.JWKSURI,
		IDTokenAlgorithms: algs,
		Features:          fs,
		Store:             e.db,
		Grants:            e.lc,
		Now:               e.clock.Now,
		Logger:            logger,
	})
	if err != nil {
		t.Fatalf("flowweb.New: %v", err)
	}
	e.h.Register(e.echo)
	e.browser = newBrowser(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("riscd log:\n%s", e.logs.String())
		}
	})
	return &oidcFlow{env: e, disc: disc}
}

// TestNodeOIDCProvider runs the consent flow in a real browser against the
// oidc-provider npm package, a certified OpenID provider that signs its ID
// tokens ES256 and issues refresh tokens only for offline_access with
// prompt=consent (OpenID Connect Core 1.0 §11): first a silent request
// (prompt=none) that comes back login_required; then riscd's index,
// Connect, the provider's login and consent pages, back on riscd with the
// grant; then a refresh, and a revocation the provider honours.
func TestNodeOIDCProvider(t *testing.T) {
	var issuer string
	f := newOIDCFlow(t, nodeOPClientID, nodeOPClientSecret, flowweb.ProviderOIDC, map[string]string{"profile": "profile"},
		func(redirectURI string) string { issuer = startNodeOP(t, redirectURI); return issuer })
	if algs, _ := f.disc.IDTokenAlgorithms(); !slices.Equal(algs, []string{"ES256"}) {
		t.Fatalf("the provider's discovery lists %v, want ES256 alone (the test's point)", algs)
	}
	ctx := testkit.Chromium(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	dir := testkit.ArtifactDir(t)
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatalf("write screenshot: %v", err)
		}
		t.Logf("screenshot: %s", path)
	}

	// Not signed in at the provider, a silent request comes back with
	// login_required (OpenID Connect Core 1.0 §3.1.2.6): its own page.
	do("a silent sign-in",
		chromedp.Navigate(f.srv.URL+"/authorize?prompt=none"),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page]`)),
	)
	if code, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-code]")?.dataset.code ?? ""`)); err != nil || code != "login_required" {
		t.Fatalf("prompt=none without a session at the provider: riscd's %q page (%v), want login_required", code, err)
	}
	if h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))); err != nil || h1 != "Please sign in to 127.0.0.1"+strings.TrimPrefix(issuer, "http://127.0.0.1")+" first" {
		t.Errorf("login_required page heading %q (%v), want one that asks to sign in at the provider", h1, err)
	}
	screenshot("flowweb-oidc-login-required.png")

	do("open riscd and connect",
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("connect")),
		chromedp.Click(chromedp.ID("connect")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
	)
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.HasPrefix(loc, issuer) {
		t.Fatalf("after Connect the browser is at %s (%v), want the provider's login page", loc, err)
	}
	do("sign in at the provider",
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "any password"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="prompt"][value="consent"] ~ button`)),
	)
	do("consent",
		chromedp.Click(chromedp.CSS(`input[name="prompt"][value="consent"] ~ button`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page]`)), // riscd's, whichever page
	)
	if code, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-code]")?.dataset.code ?? ""`)); err != nil || code != "" {
		t.Fatalf("back on riscd's %q page (%v), want the index", code, err)
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != f.srv.URL+"/" {
		t.Fatalf("back on %s (%v), want riscd's index", loc, err)
	}
	g := f.onlyGrant()
	if g.Sub != "alice" || g.Email != "alice@example.test" || g.RefreshToken.IsZero() ||
		!slices.Contains(g.Scopes, "offline_access") || !slices.Contains(g.Scopes, "profile") || g.Status != riscd.GrantActive {
		t.Fatalf("grant sub %q email %q scopes %v status %s refresh token present %v",
			g.Sub, g.Email, g.Scopes, g.Status, !g.RefreshToken.IsZero())
	}
	state, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("account"), "data-grant"))
	if err != nil || state.Value != "active" {
		t.Errorf("index grant state %q (%v), want active", state.Value, err)
	}
	screenshot("flowweb-oidc-index.png")
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil || strings.Contains(body, "Google") {
		t.Errorf("the index names Google for another provider (%v):\n%s", err, body)
	}

	// The access token expires (by riscd's clock): the feature call refreshes it.
	f.clock.Advance(2 * time.Hour)
	do("call profile's test API",
		chromedp.Click(chromedp.CSS(`li[data-feature="profile"] a.button`)),
		chromedp.WaitVisible(chromedp.ID("answer")),
	)
	answer, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("section.card")))
	if err != nil || !strings.Contains(answer, `"sub": "alice"`) || !strings.Contains(answer, "after renewing") {
		t.Errorf("feature page %q (%v), want the userinfo answer after a refresh", answer, err)
	}
	refreshed, err := f.db.Grant(context.Background(), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.AccessToken == g.AccessToken || refreshed.RefreshedAt.IsZero() || refreshed.RefreshToken.IsZero() {
		t.Fatal("the refresh was not persisted")
	}

	// Revoke: the provider stops honouring the refresh token.
	do("revoke",
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("revoke")),
		chromedp.Click(chromedp.ID("revoke")),
		chromedp.WaitVisible(chromedp.CSS(`[data-code="revoked"]`)),
	)
	conf := &oauth2.Config{ClientID: nodeOPClientID, ClientSecret: nodeOPClientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: f.disc.TokenEndpoint, AuthStyle: oauth2.AuthStyleInHeader}}
	_, err = conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refreshed.RefreshToken.Reveal()}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh with the revoked token: %v, want invalid_grant", err)
	}
	f.assertNoSecrets(g.AccessToken.Reveal(), g.RefreshToken.Reveal(), refreshed.RefreshToken.Reveal(), nodeOPClientSecret)
}

// assertNoSecrets fails if riscd's log holds any of the secrets.
func (e *env) assertNoSecrets(secrets ...string) {
	e.t.Helper()
	logs := e.logs.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			e.t.Errorf("riscd's log contains a secret (%d characters)", len(s))
		}
	}
}

// TestNodeOIDCProviderWithoutOfflineAccess: with google.provider google
// against the same standard provider riscd asks for offline access Google's
// way (access_type=offline), which the provider ignores: the grant comes
// without a refresh token, and the index page says so from the start.
func TestNodeOIDCProviderWithoutOfflineAccess(t *testing.T) {
	f := newOIDCFlow(t, nodeOPClientID, nodeOPClientSecret, flowweb.ProviderGoogle, nil,
		func(redirectURI string) string { return startNodeOP(t, redirectURI) })
	ctx := testkit.Chromium(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("connect and sign in at the provider",
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("connect")),
		chromedp.Click(chromedp.ID("connect")),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="login"]`), "bob"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "any password"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="prompt"][value="consent"] ~ button`)),
		chromedp.Click(chromedp.CSS(`input[name="prompt"][value="consent"] ~ button`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page]`)),
	)
	if g := f.onlyGrant(); g.Sub != "bob" || !g.RefreshToken.IsZero() || g.Status != riscd.GrantActive {
		t.Fatalf("grant sub %q status %s refresh token present %v, want bob's active grant without one", g.Sub, g.Status, !g.RefreshToken.IsZero())
	}
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("account"), "data-refresh-token"))
	if err != nil || attr.Value != "false" {
		t.Errorf("index data-refresh-token %q (%v), want false", attr.Value, err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("grant-state")))
	if err != nil || !strings.Contains(text, "no refresh token") {
		t.Errorf("index grant state %q (%v), want it to say the grant has no refresh token", text, err)
	}
}
