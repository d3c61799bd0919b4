package flowweb_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/store/boltdb"
)

// zitadelOP is github.com/zitadel/oidc's OpenID provider with its example
// storage, on loopback, plus the smallest login page that drives it.
type zitadelOP struct {
	issuer    string
	discovery struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		Revocation    string `json:"revocation_endpoint"`
		JWKS          string `json:"jwks_uri"`
		Userinfo      string `json:"userinfo_endpoint"`
	}
}

const (
	zitadelClientID     = "riscd"
	zitadelClientSecret = "zitadel-test-client-secret"
	zitadelPassword     = "verysecure" // the example storage's users
	zitadelUserID       = "id1"
)

// zitadelLogin is the login page zitadel's provider sends the browser to:
// a user/password form whose POST marks the auth request done and goes
// back to the provider.
var zitadelLogin = template.Must(template.New("login").Parse(`<!doctype html><title>Sign in</title>
<form method="post" action="/login/username"><input type="hidden" name="id" value="{{.}}">
<input name="username"><input name="password" type="password"><button type="submit" id="signin">Sign in</button></form>`))

// serveZitadel runs zitadel/oidc's provider over its example storage, with
// riscd as a web client of redirectURI, on loopback, with zitadelLogin, and
// returns its issuer. wrap, when not nil, changes the storage the provider
// uses (its signing key, for instance).
func serveZitadel(t *testing.T, redirectURI string, wrap func(*storage.Storage) op.Storage) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	base := storage.NewStorageWithClients(storage.NewUserStore(issuer), map[string]*storage.Client{
		zitadelClientID: storage.WebClient(zitadelClientID, zitadelClientSecret, redirectURI),
	})
	var stor op.Storage = base
	if wrap != nil {
		stor = wrap(base)
	}
	var key [32]byte
	_, _ = rand.Read(key[:])
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:             sha256.Sum256(key[:]),
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
	}, stor, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		t.Fatalf("op.NewProvider: %v", err)
	}
	callback := op.AuthCallbackURL(provider)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/username", func(w http.ResponseWriter, r *http.Request) {
		_ = zitadelLogin.Execute(w, r.URL.Query().Get("authRequestID"))
	})
	mux.Handle("POST /login/username", op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.FormValue("id")
		if err := base.CheckUsernamePassword(r.FormValue("username"), r.FormValue("password"), id); err != nil {
			http.Error(w, "login failed", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, callback(r.Context(), id), http.StatusFound)
	}))
	mux.Handle("/", provider)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

// startZitadel runs serveZitadel's provider with its own RSA key and reads
// its discovery document.
func startZitadel(t *testing.T, redirectURI string) *zitadelOP {
	t.Helper()
	z := &zitadelOP{issuer: serveZitadel(t, redirectURI, nil)}
	resp, err := http.Get(z.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&z.discovery); err != nil || z.discovery.Token == "" {
		t.Fatalf("discovery document: %v %+v", err, z.discovery)
	}
	return z
}

// TestThirdPartyProvider runs the happy path against an OpenID provider
// riscd's authors did not write: consent, code exchange, a feature call,
// refresh (with refresh-token rotation) and revoke.
func TestThirdPartyProvider(t *testing.T) {
	ctx := context.Background()
	b, z, db := zitadelFlow(t)
	srv := b.srv

	// Consent: riscd -> provider -> login -> provider -> riscd's callback.
	zitadelConsent(t, b, z, srv.URL, "?features=phone")
	grants, _, _ := db.ListGrants(ctx, riscd.GrantQuery{})
	if len(grants) != 1 {
		t.Fatalf("grants = %d, want 1", len(grants))
	}
	g := grants[0]
	if g.Sub != zitadelUserID || g.RefreshToken.IsZero() || !slices.Contains(g.Scopes, "phone") || slices.Contains(g.Scopes, "address") {
		t.Fatalf("grant sub %q scopes %v refresh token present %v", g.Sub, g.Scopes, !g.RefreshToken.IsZero())
	}
	idx := b.get("/")
	if got := idx.enabled(); !slices.Equal(got, []string{"phone"}) {
		t.Errorf("enabled features %v, want phone", got)
	}

	// A feature call with the access token.
	if p := b.get("/features/phone"); p.status != http.StatusOK || !strings.Contains(p.body, `&#34;sub&#34;: &#34;id1&#34;`) {
		t.Fatalf("feature: status %d, want the userinfo answer:\n%s", p.status, p.body)
	}

	// Refresh: the provider's access tokens live 5 minutes.
	b.clock.Advance(10 * time.Minute)
	if p := b.get("/features/phone"); p.status != http.StatusOK || !strings.Contains(p.body, "after renewing") {
		t.Fatalf("feature after expiry: status %d code %q", p.status, p.code())
	}
	refreshed, err := db.Grant(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.AccessToken == g.AccessToken || refreshed.RefreshToken == g.RefreshToken || refreshed.RefreshedAt.IsZero() {
		t.Error("the refreshed tokens (the provider rotates refresh tokens) were not persisted")
	}

	// Revoke.
	p := b.post("/revoke", url.Values{"csrf": {idx.csrf()}}, nil)
	if p.status != http.StatusOK || p.code() != "revoked" {
		t.Fatalf("revoke: status %d code %q, want the provider's confirmation", p.status, p.code())
	}
	conf := &oauth2.Config{ClientID: zitadelClientID, ClientSecret: zitadelClientSecret, Endpoint: oauth2.Endpoint{TokenURL: z.discovery.Token}}
	_, err = conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken.Reveal()}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh with the revoked token: %v, want invalid_grant", err)
	}
	if after, _ := db.Grant(ctx, g.ID); after.Status != riscd.GrantRevoked || !after.RefreshToken.IsZero() {
		t.Errorf("grant after revoke: %s", after.Status)
	}
}

// TestThirdPartyConnect runs a connect session against the third-party
// provider: the start link, its login, back to the app with
// status=connected, the app user linked to the provider's subject.
func TestThirdPartyConnect(t *testing.T) {
	ctx := context.Background()
	b, z, db := zitadelFlow(t)
	now := b.clock.Now()
	token := riscd.Secret("start-token-of-the-zitadel-session")
	if err := db.CreateConnectSession(ctx, riscd.ConnectSession{ID: "z1", AppUser: "u-9", Features: []string{"address"},
		ReturnTo: "https://app.example.com/after", StartDigest: riscd.IDDigest(token), Status: riscd.ConnectPending,
		CreatedAt: now, ExpiresAt: now.Add(riscd.ConnectSessionTTL)}); err != nil {
		t.Fatal(err)
	}
	p := b.get("/connect/z1?token=" + token.Reveal())
	if p.status != http.StatusFound || p.loc == nil {
		t.Fatalf("connect link: status %d code %q", p.status, p.code())
	}
	if sc := p.loc.Query().Get("scope"); !strings.Contains(sc, "address") || !strings.Contains(sc, "offline_access") {
		t.Errorf("authorization request scope %q, want address and offline_access", sc)
	}
	cb := zitadelWalk(t, b, z, b.srv.URL, p.loc)
	back := b.get(cb.String())
	if back.status != http.StatusSeeOther || back.loc.String() != "https://app.example.com/after?connect_id=z1&status=connected" {
		t.Fatalf("callback: status %d location %v code %q", back.status, back.loc, back.code())
	}
	s, err := db.ConnectSession(ctx, "z1")
	if err != nil {
		t.Fatal(err)
	}
	g := onlyLiveGrant(t, db)
	if s.Status != riscd.ConnectConnected || s.Sub != zitadelUserID || s.GrantID != g.ID || !slices.Contains(s.Scopes, "address") {
		t.Errorf("session %+v, want connected to %s with address", s, zitadelUserID)
	}
	if links, err := db.LinksOfAppUser(ctx, "u-9"); err != nil || len(links) != 1 || links[0].Sub != zitadelUserID {
		t.Errorf("links of u-9: %+v %v", links, err)
	}
}

// zitadelFlow is riscd's consent flow, with connect sessions, set up
// against serveZitadel's provider.
func zitadelFlow(t *testing.T) (*env, *zitadelOP, *boltdb.DB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	clock := newTestClock()
	e := echo.New()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	z := startZitadel(t, srv.URL+"/oauth2callback")

	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(ctx, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logs := &testkit.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	lc, err := lifecycle.New(lifecycle.Config{
		Store: db, RevokeURL: z.discovery.Revocation, // RFC 7009 servers authenticate the client
		ClientID: zitadelClientID, ClientSecret: zitadelClientSecret, TokenURL: z.discovery.Token,
		Now: clock.Now, Logger: logger,
	})
	if err != nil {
		t.Fatalf("lifecycle.New: %v", err)
	}
	h, err := flowweb.New(ctx, flowweb.Config{
		PublicURL:      srv.URL,
		ClientID:       zitadelClientID,
		ClientSecret:   zitadelClientSecret,
		AuthURL:        z.discovery.Authorization,
		TokenURL:       z.discovery.Token,
		IDTokenIssuers: []string{z.issuer},
		IDTokenJWKSURL: z.discovery.JWKS,
		Scopes:         []string{"offline_access"}, // how standard servers grant refresh tokens
		Features: map[string]flowweb.Feature{
			"phone":   {Scope: "phone", TestURL: z.discovery.Userinfo},
			"address": {Scope: "address", TestURL: z.discovery.Userinfo},
		},
		Store:   db,
		Grants:  lc,
		Connect: lc,
		Now:     clock.Now,
		Logger:  logger,
	})
	if err != nil {
		t.Fatalf("flowweb.New: %v", err)
	}
	h.Register(e)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("riscd log:\n%s", logs.String())
		}
	})
	return &env{t: t, srv: srv, browser: newBrowser(t), clock: clock, db: db}, z, db
}
