package flowweb_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
)

func TestFeatureCall(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	before := e.onlyGrant()
	p := e.get("/features/drive")
	if p.status != http.StatusOK || p.code() != "called" {
		t.Fatalf("status %d code %q, want 200 called", p.status, p.code())
	}
	for _, f := range googlesim.DriveFiles(e.user.Sub) {
		if !strings.Contains(p.body, f.Name) || !strings.Contains(p.body, f.ID) {
			t.Errorf("the page does not show the Drive file %q", f.Name)
		}
	}
	if e.sim.Stats().Refreshes != 0 {
		t.Error("a fresh access token was refreshed")
	}
	if g := e.onlyGrant(); !reflectGrantEqual(g, before) {
		t.Errorf("a call with a fresh token changed the grant: %+v", g)
	}
	if p := e.get("/features/nope"); p.status != http.StatusNotFound || p.code() != "unknown_feature" {
		t.Errorf("unknown feature: status %d code %q, want 404 unknown_feature", p.status, p.code())
	}
}

func TestFeatureCallNotSignedIn(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.get("/features/drive")
	if p.status != http.StatusUnauthorized || p.code() != "not_signed_in" || !strings.Contains(p.body, `href="/authorize?features=drive"`) {
		t.Errorf("status %d code %q, want 401 not_signed_in with a connect link", p.status, p.code())
	}
}

func TestFeatureCallRefreshesExpiredToken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expire func(*env)
	}{
		// riscd's clock says the token is past its expiry.
		{"by expiry", func(e *env) { e.clock.Advance(2 * time.Hour) }},
		// Within a minute of its expiry: refreshed before use.
		{"about to expire", func(e *env) { e.clock.Advance(3599*time.Second - 30*time.Second) }},
		// Google refuses it though riscd thinks it is valid: 401, one refresh, retry.
		{"refused by the API", func(e *env) { e.sim.ExpireAccessTokens() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.connect("", googlesim.Choice{})
			old := e.onlyGrant()
			tc.expire(e)
			p := e.get("/features/drive")
			if p.status != http.StatusOK || !strings.Contains(p.body, "Quarterly report") {
				t.Fatalf("status %d code %q, want the Drive answer", p.status, p.code())
			}
			if !strings.Contains(p.body, "after renewing its access token") {
				t.Error("the page does not say the token was renewed")
			}
			if got := e.sim.RefreshCount(old.RefreshToken.Reveal()); got != 1 {
				t.Errorf("refreshes = %d, want exactly 1", got)
			}
			g := e.onlyGrant()
			if g.AccessToken == old.AccessToken || g.RefreshToken != old.RefreshToken {
				t.Error("the refreshed access token was not persisted (or the refresh token changed)")
			}
			if want := e.clock.Now().Add(3599 * time.Second); !g.Expiry.Equal(want) || !g.RefreshedAt.Equal(e.clock.Now()) {
				t.Errorf("expiry %v refreshed at %v, want %v and now", g.Expiry, g.RefreshedAt, want)
			}
			// The persisted token is used as is next time.
			if p := e.get("/features/drive"); p.status != http.StatusOK {
				t.Fatalf("second call: status %d", p.status)
			}
			if got := e.sim.RefreshCount(old.RefreshToken.Reveal()); got != 1 {
				t.Errorf("refreshes after a second call = %d, want still 1", got)
			}
			e.assertLogClean(old.AccessToken.Reveal(), g.AccessToken.Reveal(), g.RefreshToken.Reveal())
		})
	}
}

func TestFeatureCallConcurrentRefreshIsShared(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	old := e.onlyGrant()
	e.clock.Advance(2 * time.Hour)
	const n = 4
	errs := make(chan string, n)
	for range n {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/features/drive", nil)
			resp, err := e.browser.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- resp.Status
				return
			}
			errs <- ""
		}()
	}
	for range n {
		if msg := <-errs; msg != "" {
			t.Errorf("concurrent call: %s", msg)
		}
	}
	// Overlapping calls share one refresh; calls that start after it use
	// the persisted token. Either way never more than one per expiry.
	if got := e.sim.RefreshCount(old.RefreshToken.Reveal()); got != 1 {
		t.Errorf("refreshes = %d, want 1", got)
	}
}

func TestFeatureCallDeadGrant(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	if err := e.sim.RevokeGrant(e.user.Sub); err != nil { // the user removed riscd at Google
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	p := e.get("/features/drive")
	if p.status != http.StatusForbidden || p.code() != "reconnect" || !strings.Contains(p.body, "/authorize?prompt=consent") {
		t.Fatalf("status %d code %q, want 403 reconnect offering a new consent", p.status, p.code())
	}
	g := e.onlyGrant()
	if g.Status != riscd.GrantRevoked || g.Reason != "invalid_grant" || !g.RefreshToken.IsZero() || !g.AccessToken.IsZero() {
		t.Errorf("grant %+v, want revoked (invalid_grant) with tokens discarded", g)
	}
	// The grants service audits the refusal (its own tests check the
	// entries in full).
	audit, _, _ := e.db.ListAudit(context.Background(), riscd.AuditQuery{})
	if !slices.ContainsFunc(audit, func(a riscd.AuditEntry) bool {
		return a.Action == "revoke_grants" && slices.Equal(a.GrantIDs, []string{g.ID})
	}) {
		t.Errorf("audit %+v, want the grant's revocation by the refresh", audit)
	}
	idx := e.index()
	if len(idx.enabled()) != 0 || !strings.Contains(idx.body, `data-grant="revoked"`) {
		t.Error("the index still shows a usable grant")
	}
	// Reconnecting gives a working grant again.
	e.connect("?prompt=consent", googlesim.Choice{})
	if got := e.index().enabled(); !slices.Equal(got, []string{"calendar", "drive"}) {
		t.Errorf("after reconnecting, enabled %v", got)
	}
}

func TestFeatureCallReauthRequired(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	old := e.onlyGrant()
	e.sim.SetTokenError("refresh_token", googlesim.InvalidRAPT(), 1)
	e.clock.Advance(2 * time.Hour)
	if p := e.get("/features/drive"); p.code() != "reconnect" {
		t.Fatalf("code %q, want reconnect", p.code())
	}
	g := e.onlyGrant()
	if g.Status != riscd.GrantReauthRequired || g.Reason != "invalid_rapt" || g.RefreshToken != old.RefreshToken {
		t.Errorf("grant status %s reason %q, want reauth_required (invalid_rapt) keeping its refresh token", g.Status, g.Reason)
	}
	// A new consent makes the same grant active again.
	e.connect("", googlesim.Choice{})
	if g := e.onlyGrant(); g.Status != riscd.GrantActive || g.ID != old.ID {
		t.Errorf("after consent: grant %s status %s, want %s active", g.ID, g.Status, old.ID)
	}
}

func TestFeatureCallUpstreamDown(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	before := e.snapshot()
	e.clock.Advance(2 * time.Hour)
	if err := e.sim.SetFault(googlesim.EndpointToken, googlesim.Fault{Status: http.StatusServiceUnavailable}); err != nil {
		t.Fatal(err)
	}
	p := e.get("/features/drive")
	if p.status != http.StatusBadGateway || p.code() != "upstream_unavailable" {
		t.Errorf("status %d code %q, want 502 upstream_unavailable", p.status, p.code())
	}
	e.assertUnchanged(before)
}

// reflectGrantEqual compares grants field by field that the flow sets.
func reflectGrantEqual(a, b riscd.Grant) bool {
	return a.ID == b.ID && a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken &&
		a.Expiry.Equal(b.Expiry) && a.Status == b.Status && slices.Equal(a.Scopes, b.Scopes)
}

func TestConsentKeepsAnAccountHold(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	first := e.onlyGrant()
	ctx := context.Background()
	if _, err := e.db.UpdateAccount(ctx, e.user.Sub, func(a riscd.Account, _ bool) (riscd.Account, error) {
		a.Held = true
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.UpdateGrant(ctx, first.ID, func(g riscd.Grant) (riscd.Grant, error) {
		g.Status, g.Reason = riscd.GrantHeld, "account-disabled"
		return g, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.connect("?prompt=consent", googlesim.Choice{})
	g := e.onlyGrant()
	if g.ID != first.ID || g.Status != riscd.GrantHeld || g.RefreshToken == first.RefreshToken {
		t.Errorf("grant %s status %s, want %s kept held with the new tokens", g.ID, g.Status, first.ID)
	}
	if p := e.get("/features/drive"); p.status != http.StatusForbidden || p.code() != "held" {
		t.Errorf("feature of a held grant: status %d code %q, want 403 held", p.status, p.code())
	}
	if idx := e.index(); len(idx.enabled()) != 0 || !strings.Contains(idx.body, `data-grant="held"`) {
		t.Error("the index shows a held grant as usable")
	}
	if e.sim.Stats().Refreshes != 0 {
		t.Error("a held grant's token was refreshed")
	}
}

func TestConsentRefusedWhileSigninDisabled(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	if _, err := e.db.UpdateAccount(context.Background(), e.user.Sub, func(a riscd.Account, _ bool) (riscd.Account, error) {
		a.SigninDisabled = true
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	cb := e.consent(e.startAuth("?prompt=consent"), googlesim.Choice{})
	p := e.get(cb.String())
	if p.status != http.StatusForbidden || p.code() != "signin_disabled" {
		t.Fatalf("callback for a disabled account: status %d code %q, want 403 signin_disabled", p.status, p.code())
	}
	e.assertUnchanged(before)
}
