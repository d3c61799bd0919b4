package flowweb_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/internal/testkit"
)

// es256Storage is zitadel/oidc's example storage signing with a P-256 key
// (ES256, RFC 7518 §3.4) instead of its RSA key.
type es256Storage struct {
	*storage.Storage
	key *ecdsa.PrivateKey
}

// es256Key is the key as both op.SigningKey (private) and op.Key (public).
type es256Key struct {
	key     *ecdsa.PrivateKey
	private bool
}

func (k es256Key) ID() string                                  { return "es256-test" }
func (k es256Key) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k es256Key) Algorithm() jose.SignatureAlgorithm          { return jose.ES256 }
func (k es256Key) Use() string                                 { return "sig" }
func (k es256Key) Key() any {
	if k.private {
		return k.key
	}
	return &k.key.PublicKey
}

func (s es256Storage) SigningKey(context.Context) (op.SigningKey, error) {
	return es256Key{key: s.key, private: true}, nil
}

func (s es256Storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

func (s es256Storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{es256Key{key: s.key}}, nil
}

// startZitadelES256 runs zitadel/oidc's provider, signing ID tokens ES256,
// on loopback, with a login page a browser can fill in, and returns its
// issuer.
func startZitadelES256(t *testing.T, redirectURI string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return serveZitadel(t, redirectURI, func(base *storage.Storage) op.Storage { return es256Storage{Storage: base, key: key} })
}

// TestZitadelES256 runs the consent flow in a real browser against
// zitadel/oidc's provider signing ES256, with google.provider oidc: the
// endpoints and the algorithm come from its discovery document, the
// refresh token from offline_access; then a refresh.
func TestZitadelES256(t *testing.T) {
	f := newOIDCFlow(t, zitadelClientID, zitadelClientSecret, flowweb.ProviderOIDC, map[string]string{"phone": "phone", "address": "address"},
		func(redirectURI string) string { return startZitadelES256(t, redirectURI) })
	if algs, _ := f.disc.IDTokenAlgorithms(); !slices.Equal(algs, []string{"ES256"}) {
		t.Fatalf("discovery lists %v, want ES256 alone", algs)
	}
	ctx := testkit.Chromium(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("open riscd and connect with phone",
		chromedp.Navigate(f.srv.URL+"/authorize?features=phone"),
		chromedp.WaitVisible(chromedp.ID("signin")),
	)
	do("sign in at the provider",
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "test-user@127.0.0.1"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), zitadelPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page]`)),
	)
	if code, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-code]")?.dataset.code ?? ""`)); err != nil || code != "" {
		t.Fatalf("back on riscd's %q page (%v), want the index", code, err)
	}
	g := f.onlyGrant()
	if g.Sub != zitadelUserID || g.RefreshToken.IsZero() || !slices.Contains(g.Scopes, "offline_access") ||
		!slices.Contains(g.Scopes, "phone") || g.Status != riscd.GrantActive {
		t.Fatalf("grant sub %q scopes %v status %s refresh token present %v", g.Sub, g.Scopes, g.Status, !g.RefreshToken.IsZero())
	}
	state, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("account"), "data-refresh-token"))
	if err != nil || state.Value != "true" {
		t.Errorf("index data-refresh-token %q (%v), want true", state.Value, err)
	}

	f.clock.Advance(10 * time.Minute) // the provider's access tokens live 5
	do("call phone's test API",
		chromedp.Click(chromedp.CSS(`li[data-feature="phone"] a.button`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-page]`)),
	)
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(page, `"sub": "id1"`) || !strings.Contains(page, "after renewing") {
		t.Errorf("feature page %q (%v), want the userinfo answer after a refresh", page, err)
	}
	if after, err := f.db.Grant(context.Background(), g.ID); err != nil || after.AccessToken == g.AccessToken || after.RefreshedAt.IsZero() {
		t.Errorf("the refresh was not persisted (%v)", err)
	}

	// Asking for address alone keeps phone: the provider has no
	// include_granted_scopes, so riscd asks again for what the grant holds.
	do("ask for address",
		chromedp.Navigate(f.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`li[data-feature="address"] a.button`)),
		chromedp.Click(chromedp.CSS(`li[data-feature="address"] a.button`)),
		chromedp.WaitVisible(chromedp.ID("signin")),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "test-user@127.0.0.1"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), zitadelPassword),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("features")),
	)
	rows, err := chromedp.Run(ctx, chromedp.AttributesAll(chromedp.CSSAll("li.feature")))
	if err != nil {
		t.Fatal(err)
	}
	var enabled []string
	for _, r := range rows {
		if r["data-enabled"] == "true" {
			enabled = append(enabled, r["data-feature"])
		}
	}
	if g := f.onlyGrant(); !slices.Equal(enabled, []string{"address", "phone"}) || g.RefreshToken.IsZero() {
		t.Errorf("after asking for address: enabled %v, scopes %v, refresh token present %v; want address and phone", enabled, g.Scopes, !g.RefreshToken.IsZero())
	}
}
