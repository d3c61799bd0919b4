package flowweb_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/flowweb"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/lifecycle"
	"github.com/riscd/riscd/oauthclient"
	"github.com/riscd/riscd/store/boltdb"
)

// TestThirdPartyProviderDaemonRevocation wires flowweb and lifecycle to
// github.com/zitadel/oidc's OpenID provider as cmd/riscd does: one
// oauthclient.Revoker, built from the revocation URL and the client's ID
// and secret alone, shared by both. The provider refuses a revocation that
// does not authenticate the client (RFC 7009 §2.1). The refresh token a
// second consent replaces is revoked by the outbox, then an operator's
// discard revokes the grant's current one; each time the provider confirms
// it: a refresh with the revoked token answers invalid_grant, while the
// tokens not revoked still refresh.
func TestThirdPartyProviderDaemonRevocation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := echo.New()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	z := startZitadel(t, srv.URL+"/oauth2callback")

	// The provider itself refuses an unauthenticated revocation.
	bare, err := oauthclient.NewRevoker(oauthclient.RevokerConfig{URL: z.discovery.Revocation})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := bare.Revoke(ctx, "not-a-token"); err != nil || a.Revoked() || a.Code != "invalid_client" {
		t.Fatalf("unauthenticated revocation: %+v %v, want it refused with invalid_client", a, err)
	}

	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(ctx, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logs := &testkit.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("riscd log:\n%s", logs.String())
		}
	})
	// As cmd/riscd's build does.
	revoker, err := oauthclient.NewRevoker(oauthclient.RevokerConfig{
		URL: z.discovery.Revocation, ClientID: zitadelClientID, ClientSecret: zitadelClientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := lifecycle.New(lifecycle.Config{
		Store: db, Revoker: revoker,
		ClientID: zitadelClientID, ClientSecret: zitadelClientSecret, TokenURL: z.discovery.Token,
		PollInterval: 20 * time.Millisecond, Logger: logger,
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
		Scopes:         []string{"offline_access"},
		Store:          db,
		Grants:         lc,
		Logger:         logger,
	})
	if err != nil {
		t.Fatalf("flowweb.New: %v", err)
	}
	h.Register(e)
	outboxDone := make(chan error, 1)
	go func() { outboxDone <- lc.RunOutbox(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-outboxDone; err != nil {
			t.Errorf("RunOutbox: %v", err)
		}
	})
	b := &env{t: t, srv: srv, browser: newBrowser(t)}
	conf := &oauth2.Config{ClientID: zitadelClientID, ClientSecret: zitadelClientSecret, Endpoint: oauth2.Endpoint{TokenURL: z.discovery.Token}}
	refresh := func(rt riscd.Secret) error {
		_, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt.Reveal()}).Token()
		return err
	}
	wantRevoked := func(what string, rt riscd.Secret) {
		t.Helper()
		var re *oauth2.RetrieveError
		if err := refresh(rt); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Errorf("refresh with the %s: %v, want invalid_grant", what, err)
		}
	}
	waitRevokeJobsDone := func(n int) {
		t.Helper()
		testkit.Eventually(t, fmt.Sprintf("%d revoke jobs done", n), func() bool {
			done := 0
			for id := uint64(1); ; id++ {
				j, err := db.OutboxJob(ctx, id)
				if err != nil {
					break
				}
				if j.Status == riscd.OutboxFailed {
					t.Fatalf("outbox job %d (%s) failed: %s", j.ID, j.Kind, j.LastError)
				}
				if j.Kind == riscd.OutboxRevoke && j.Status == riscd.OutboxDone {
					done++
				}
			}
			return done >= n
		})
	}

	zitadelConsent(t, b, z, srv.URL, "")
	first := onlyLiveGrant(t, db)
	zitadelConsent(t, b, z, srv.URL, "")
	second := onlyLiveGrant(t, db)
	if second.ID != first.ID || second.RefreshToken == first.RefreshToken || second.RefreshToken.IsZero() {
		t.Fatal("the second consent did not replace the grant's refresh token")
	}
	waitRevokeJobsDone(1)
	wantRevoked("replaced refresh token", first.RefreshToken)
	if err := refresh(second.RefreshToken); err != nil {
		t.Fatalf("refresh with the current refresh token: %v, want it to work", err)
	}

	// That refresh rotated second.RefreshToken at the provider (riscd
	// never saw the new one): a third consent gives riscd a token the
	// provider honours, for the operator's discard to revoke.
	zitadelConsent(t, b, z, srv.URL, "")
	waitRevokeJobsDone(2)
	current := onlyLiveGrant(t, db)
	if err := lc.DiscardGrant(ctx, current.ID, "operator"); err != nil {
		t.Fatalf("DiscardGrant: %v", err)
	}
	waitRevokeJobsDone(3)
	wantRevoked("discarded grant's refresh token", current.RefreshToken)
}

// zitadelConsent runs riscd's consent flow (/authorize with query)
// through the provider's login page and requires riscd's callback to
// accept it.
func zitadelConsent(t *testing.T, b *env, z *zitadelOP, riscdURL, query string) {
	t.Helper()
	loc := zitadelWalk(t, b, z, riscdURL, b.startAuth(query))
	if cb := b.get(loc.String()); cb.status != http.StatusSeeOther {
		t.Fatalf("callback: status %d code %q", cb.status, cb.code())
	}
}

// zitadelWalk follows the provider from the authorization request loc
// through its login to the redirect back to riscd's callback, which it
// returns without following.
func zitadelWalk(t *testing.T, b *env, z *zitadelOP, riscdURL string, loc *url.URL) *url.URL {
	t.Helper()
	for range 10 {
		if strings.HasPrefix(loc.String(), riscdURL+"/oauth2callback") {
			break
		}
		p := b.get(loc.String())
		switch {
		case p.status == http.StatusOK && loc.Path == "/login/username":
			form := url.Values{"id": {loc.Query().Get("authRequestID")}, "username": {"test-user@127.0.0.1"}, "password": {zitadelPassword}}
			req, _ := http.NewRequest(http.MethodPost, z.issuer+"/login/username", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			p = b.do(req)
			if p.loc == nil {
				t.Fatalf("login: status %d %s", p.status, p.body)
			}
			loc = p.loc
		case p.loc != nil:
			loc = p.loc
		default:
			t.Fatalf("provider answered %d at %s: %s", p.status, loc.Path, p.body)
		}
	}
	return loc
}

// onlyLiveGrant is the store's one active grant.
func onlyLiveGrant(t *testing.T, db *boltdb.DB) riscd.Grant {
	t.Helper()
	gs, _, err := db.ListGrants(context.Background(), riscd.GrantQuery{Status: riscd.GrantActive})
	if err != nil || len(gs) != 1 {
		t.Fatalf("active grants: %d %v, want 1", len(gs), err)
	}
	return gs[0]
}
