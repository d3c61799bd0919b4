package flowweb_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
)

func TestAuthorizeRequest(t *testing.T) {
	e := newEnv(t, envOptions{})
	p := e.get("/authorize")
	if p.status != http.StatusFound {
		t.Fatalf("status %d, want 302", p.status)
	}
	q := p.loc.Query()
	want := map[string]string{
		"client_id":              e.sim.ClientID(),
		"redirect_uri":           e.srv.URL + "/oauth2callback",
		"response_type":          "code",
		"access_type":            "offline",
		"include_granted_scopes": "true",
		"code_challenge_method":  "S256",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got, want := p.loc.Scheme+"://"+p.loc.Host+p.loc.Path, e.sim.URL()+googlesim.PathAuthorize; got != want {
		t.Errorf("authorization endpoint %q, want %q", got, want)
	}
	if got, want := q.Get("scope"), "openid email "+calendarScope+" "+driveScope; got != want {
		t.Errorf("scope = %q, want %q (all features when none is named)", got, want)
	}
	// 128 random bits at least: 22 base64url characters.
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 22 {
			t.Errorf("%s = %q is too short", k, q.Get(k))
		}
	}
	for _, k := range []string{"login_hint", "prompt"} {
		if q.Has(k) {
			t.Errorf("%s sent without being asked for", k)
		}
	}
	ck := setCookieHeader(t, p.header, "riscd_flow")
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/oauth2callback" || ck.MaxAge != 600 {
		t.Errorf("flow cookie %+v, want HttpOnly, SameSite=Lax, not Secure over http, Path=/oauth2callback, Max-Age=600", ck)
	}
	if strings.Contains(ck.Value, q.Get("state")) {
		t.Error("the flow cookie carries the state")
	}
	st, err := e.db.Stats(context.Background())
	if err != nil || st.Flows != 1 {
		t.Errorf("flows = %d (%v), want 1", st.Flows, err)
	}

	t.Run("features, hint and prompt", func(t *testing.T) {
		p := e.get("/authorize?features=drive&login_hint=alice@example.com&prompt=consent+select_account")
		q := p.loc.Query()
		if got, want := q.Get("scope"), "openid email "+driveScope; got != want {
			t.Errorf("scope = %q, want %q", got, want)
		}
		if q.Get("login_hint") != "alice@example.com" || q.Get("prompt") != "consent select_account" {
			t.Errorf("login_hint %q prompt %q not passed through", q.Get("login_hint"), q.Get("prompt"))
		}
	})
	t.Run("no features", func(t *testing.T) {
		q := e.get("/authorize?features=").loc.Query()
		if got := q.Get("scope"); got != "openid email" {
			t.Errorf("scope = %q, want openid email", got)
		}
	})
}

func TestAuthorizeRefusesBadParameters(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct{ name, query string }{
		{"unknown feature", "?features=drive,mail"},
		{"prompt case", "?prompt=Consent"},
		{"prompt none not alone", "?prompt=none+consent"},
		{"prompt unknown", "?prompt=login"},
		{"prompt double space", "?prompt=consent++select_account"},
		{"login_hint with space", "?login_hint=a+b@example.com"},
		{"login_hint control", "?login_hint=a%0Ab"},
		{"repeated prompt", "?prompt=consent&prompt=none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := e.get("/authorize" + tc.query)
			if p.status != http.StatusBadRequest || p.code() != "bad_authorize_request" {
				t.Errorf("status %d code %q, want 400 bad_authorize_request", p.status, p.code())
			}
			st, err := e.db.Stats(context.Background())
			if err != nil || st.Flows != 0 {
				t.Errorf("flows = %d (%v), want 0", st.Flows, err)
			}
		})
	}
}

func TestAllowAll(t *testing.T) {
	e := newEnv(t, envOptions{})
	authURL := e.startAuth("")
	cb := e.consent(authURL, googlesim.Choice{})
	code, state := cb.Query().Get("code"), cb.Query().Get("state")
	p := e.get(cb.String())
	if p.status != http.StatusSeeOther {
		t.Fatalf("callback status %d (%s), want 303", p.status, p.code())
	}
	if p.loc.Path != "/" || p.loc.RawQuery != "" {
		t.Errorf("redirect to %v, want / without code or state", p.loc)
	}
	ck := setCookieHeader(t, p.header, "riscd_session")
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" {
		t.Errorf("session cookie %+v, want HttpOnly, SameSite=Lax, Path=/", ck)
	}
	if fc := setCookieHeader(t, p.header, "riscd_flow"); fc.MaxAge >= 0 {
		t.Errorf("flow cookie not deleted: %+v", fc)
	}

	g := e.onlyGrant()
	info, ok := e.sim.Grant(e.user.Sub)
	if !ok || len(info.RefreshTokens) != 1 {
		t.Fatalf("googlesim grant %+v, want one refresh token", info)
	}
	wantScopes := []string{"email", calendarScope, driveScope, "openid"}
	slices.Sort(wantScopes)
	if g.Sub != e.user.Sub || g.Email != e.user.Email || g.Status != riscd.GrantActive || !slices.Equal(g.Scopes, wantScopes) {
		t.Errorf("grant %+v, want active for %s with %v", g, e.user.Sub, wantScopes)
	}
	if g.RefreshToken.Reveal() != info.RefreshTokens[0] {
		t.Error("stored refresh token is not the one googlesim issued")
	}
	if g.AccessToken.IsZero() || g.TokenType != "Bearer" || !g.Expiry.Equal(e.clock.Now().Add(3599e9)) {
		t.Errorf("access token: type %q expiry %v, want Bearer expiring in 3599s", g.TokenType, g.Expiry)
	}
	acct, err := e.db.Account(context.Background(), e.user.Sub)
	if err != nil || acct.Email != e.user.Email || acct.ReconsentRequired {
		t.Errorf("account %+v (%v)", acct, err)
	}
	audit, _, err := e.db.ListAudit(context.Background(), riscd.AuditQuery{})
	if err != nil || len(audit) != 1 || audit[0].Action != "consent" || audit[0].Outcome != "grant created" || audit[0].Sub != e.user.Sub {
		t.Errorf("audit %+v (%v), want one consent entry", audit, err)
	}

	idx := e.index()
	if got := idx.enabled(); !slices.Equal(got, []string{"calendar", "drive"}) {
		t.Errorf("enabled features %v, want calendar and drive", got)
	}
	if !strings.Contains(idx.body, e.user.Email) || !strings.Contains(idx.body, `data-grant="active"`) {
		t.Error("index does not show the signed-in account and its active grant")
	}
	for _, s := range []string{g.RefreshToken.Reveal(), g.AccessToken.Reveal(), code, state} {
		if strings.Contains(idx.body, s) {
			t.Errorf("index page shows a secret starting %.6q", s)
		}
	}
	e.assertLogClean(code, state, authURL.Query().Get("nonce"), g.RefreshToken.Reveal(), g.AccessToken.Reveal(), ck.Value)
}

func TestDeny(t *testing.T) {
	e := newEnv(t, envOptions{})
	before := e.snapshot()
	cb := e.consent(e.startAuth(""), googlesim.Choice{Deny: true})
	p := e.get(cb.String())
	if p.status != http.StatusForbidden || p.code() != "access_denied" {
		t.Errorf("status %d code %q, want 403 access_denied", p.status, p.code())
	}
	if !strings.Contains(p.body, "Connect again") {
		t.Error("the page does not offer to connect again")
	}
	e.assertUnchanged(before)
	if got := e.index().enabled(); len(got) != 0 {
		t.Errorf("enabled features %v, want none", got)
	}
}

func TestPartialGrant(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{Scopes: []string{driveScope}})
	g := e.onlyGrant()
	if slices.Contains(g.Scopes, calendarScope) || !slices.Contains(g.Scopes, driveScope) {
		t.Errorf("scopes %v, want drive without calendar", g.Scopes)
	}
	idx := e.index()
	if got := idx.enabled(); !slices.Equal(got, []string{"drive"}) {
		t.Errorf("enabled features %v, want only drive", got)
	}
	if !strings.Contains(idx.body, `href="/authorize?features=calendar"`) {
		t.Error("the index does not offer to ask for calendar in context")
	}
	p := e.get("/features/calendar")
	if p.status != http.StatusForbidden || p.code() != "not_enabled" || !strings.Contains(p.body, "/authorize?features=calendar") {
		t.Errorf("calendar: status %d code %q, want 403 not_enabled offering incremental authorization", p.status, p.code())
	}
}

func TestIncrementalAuthorization(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{Scopes: []string{driveScope}})
	first := e.onlyGrant()

	authURL := e.startAuth("?features=calendar")
	if got, want := authURL.Query().Get("scope"), "openid email "+calendarScope; got != want {
		t.Errorf("incremental scope = %q, want %q", got, want)
	}
	if got := authURL.Query().Get("login_hint"); got != e.user.Sub {
		t.Errorf("login_hint = %q, want the signed-in sub", got)
	}
	p := e.get(e.consent(authURL, googlesim.Choice{}).String())
	if p.status != http.StatusSeeOther {
		t.Fatalf("callback status %d (%s)", p.status, p.code())
	}
	g := e.onlyGrant()
	if g.ID != first.ID {
		t.Errorf("a new grant %s replaced %s, want the same grant updated", g.ID, first.ID)
	}
	for _, sc := range []string{driveScope, calendarScope, "openid", "email"} {
		if !slices.Contains(g.Scopes, sc) {
			t.Errorf("scopes %v lack %s: the union was not kept", g.Scopes, sc)
		}
	}
	if g.RefreshToken != first.RefreshToken {
		t.Error("the stored refresh token changed though none came with the re-consent")
	}
	if g.AccessToken == first.AccessToken {
		t.Error("the access token was not replaced")
	}
	st, _ := e.db.Stats(context.Background())
	if st.Outbox != 0 || st.Sessions != 1 || st.Accounts != 1 {
		t.Errorf("outbox %d sessions %d accounts %d, want 0, 1, 1", st.Outbox, st.Sessions, st.Accounts)
	}
	if got := e.index().enabled(); !slices.Equal(got, []string{"calendar", "drive"}) {
		t.Errorf("enabled features %v, want both", got)
	}
}

func TestPromptConsentReplacesRefreshToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.connect("", googlesim.Choice{})
	first := e.onlyGrant()
	e.connect("?prompt=consent", googlesim.Choice{})
	g := e.onlyGrant()
	info, _ := e.sim.Grant(e.user.Sub)
	if g.ID != first.ID || g.RefreshToken == first.RefreshToken || g.RefreshToken.Reveal() != info.RefreshTokens[len(info.RefreshTokens)-1] {
		t.Fatalf("grant %s: refresh token not replaced by googlesim's newest", g.ID)
	}
	ctx := context.Background()
	jobs, err := e.db.PendingOutbox(ctx, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("outbox %v (%v), want one job", jobs, err)
	}
	j := jobs[0]
	if j.Kind != riscd.OutboxRevoke || j.Token != first.RefreshToken || j.GrantID != g.ID || j.Key != e.user.Sub || !j.Deadline.After(e.clock.Now()) {
		t.Errorf("outbox job %+v, want a revoke of the old refresh token", j)
	}
	audit, _, _ := e.db.ListAudit(ctx, riscd.AuditQuery{})
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	if !slices.Contains(actions, "replace-refresh-token") {
		t.Errorf("audit actions %v lack replace-refresh-token", actions)
	}
	st, _ := e.db.Stats(ctx)
	if st.Sessions != 1 {
		t.Errorf("sessions = %d, want 1 (the previous one replaced)", st.Sessions)
	}
}

// TestEmailVerifiedKept: a grant's email counts as verified only when the ID
// token said email_verified true (OpenID Connect Core 1.0 section 5.1), so
// that another transmitter's email subject can name only its owner.
func TestEmailVerifiedKept(t *testing.T) {
	for _, verified := range []bool{true, false} {
		t.Run(fmt.Sprint("verified=", verified), func(t *testing.T) {
			e := newEnv(t, envOptions{users: []googlesim.User{
				{Sub: "110248495921238986420", Email: "alice@example.com", Name: "Alice", EmailUnverified: !verified},
			}})
			p := e.get(e.consent(e.startAuth(""), googlesim.Choice{}).String())
			if p.status != http.StatusSeeOther {
				t.Fatalf("callback status %d (%s), want 303", p.status, p.code())
			}
			g := e.onlyGrant()
			if g.Email != "alice@example.com" || g.EmailVerified != verified {
				t.Errorf("grant email %q verified %v, want alice@example.com verified %v", g.Email, g.EmailVerified, verified)
			}
		})
	}
}
