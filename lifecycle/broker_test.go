package lifecycle_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/lifecycle"
)

// A thousand concurrent callers for one grant whose access token has
// expired cause exactly one upstream refresh, and all get its token, which
// was stored first and survives a restart.
func TestTokenConcurrentCallersShareOneRefresh(t *testing.T) {
	w := newSimWorld(t, 1, nil)
	sub := w.subs[0]
	old := w.simGrant(sub, w.clock.Now().Add(-time.Minute))

	const n = 1000
	toks := make([]lifecycle.Token, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			toks[i], errs[i] = w.lc.Token(w.ctx, sub, []string{"email"})
		})
	}
	close(start)
	wg.Wait()

	if got := w.refreshRequests(); got != 1 {
		t.Errorf("refresh requests at googlesim = %d, want exactly 1", got)
	}
	if got := w.sim.RefreshCount(w.rts[sub]); got != 1 {
		t.Errorf("successful refreshes = %d, want 1", got)
	}
	first := toks[0].AccessToken
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if toks[i].AccessToken != first {
			t.Fatalf("caller %d got another token than caller 0", i)
		}
	}
	if first == old.AccessToken || !strings.HasPrefix(first.Reveal(), "ya29.") {
		t.Fatalf("callers got the stored token or no Google token")
	}
	now := w.clock.Now()
	want := lifecycle.Token{AccessToken: first, TokenType: "Bearer", Expiry: now.Add(3599 * time.Second), Scopes: []string{"email", "openid"}, GrantID: old.ID}
	if got := toks[0]; fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) || !got.Expiry.Equal(want.Expiry) {
		t.Errorf("token %+v, want %+v", got, want)
	}
	g := w.getGrant(old.ID)
	if g.AccessToken != first || g.RefreshToken != old.RefreshToken || !g.RefreshedAt.Equal(now) || !g.LastUsedAt.Equal(now) {
		t.Errorf("stored grant: token stored %v, refresh token kept %v, refreshed at %v, last used %v; want both true and %v",
			g.AccessToken == first, g.RefreshToken == old.RefreshToken, g.RefreshedAt, g.LastUsedAt, now)
	}

	w.reopen()
	if g := w.getGrant(old.ID); g.AccessToken != first || !g.Expiry.Equal(want.Expiry) {
		t.Errorf("after a restart the grant holds another token (or expiry %v)", g.Expiry)
	}
	tok, err := w.lc.Token(w.ctx, sub, []string{"openid"})
	if err != nil || tok.AccessToken != first {
		t.Errorf("after a restart: Token = %v, same token %v; want the stored token", err, tok.AccessToken == first)
	}
	if got := w.refreshRequests(); got != 1 {
		t.Errorf("refresh requests after the restart = %d, want still 1", got)
	}
	w.assertNoSecret(w.rts[sub], first.Reveal())
	if s := fmt.Sprintf("%v %+v %#v", toks[0], toks[0], toks[0]); strings.Contains(s, w.rts[sub]) || strings.Contains(s, first.Reveal()) {
		t.Errorf("a printed Token shows a token: %s", s)
	}
}

// A token valid beyond the margin is served from the store; one about to
// expire is refreshed first; a token an API refused is refreshed whatever
// its expiry.
func TestTokenServesOrRefreshes(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn time.Duration
		stale     bool
		refreshed bool
	}{
		{"valid for an hour", time.Hour, false, false},
		{"valid for two minutes", 2 * time.Minute, false, false},
		{"expires within the minute", 30 * time.Second, false, true},
		{"expired", -time.Hour, false, true},
		{"refused by an API", time.Hour, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newSimWorld(t, 1, nil)
			sub := w.subs[0]
			g := w.simGrant(sub, w.clock.Now().Add(tc.expiresIn))
			var stale riscd.Secret
			if tc.stale {
				stale = g.AccessToken
			}
			tok, refreshed, err := w.lc.GrantToken(w.ctx, g.ID, stale)
			if err != nil {
				t.Fatalf("GrantToken: %v", err)
			}
			if refreshed != tc.refreshed || (tok != g.AccessToken) != tc.refreshed {
				t.Errorf("refreshed %v (token changed %v), want %v", refreshed, tok != g.AccessToken, tc.refreshed)
			}
			want := 0
			if tc.refreshed {
				want = 1
			}
			if got := w.refreshRequests(); got != want {
				t.Errorf("refresh requests = %d, want %d", got, want)
			}
			if got := w.getGrant(g.ID).AccessToken; got != tok {
				t.Errorf("the token served is not the one stored")
			}
		})
	}
}

// Which grant serves, and the errors the companion API turns into 404, 403
// and 409.
func TestTokenChoosesGrantOrSaysWhyNot(t *testing.T) {
	type grantSpec struct {
		scopes []string
		status riscd.GrantStatus
		reason string
	}
	tests := []struct {
		name    string
		grants  []grantSpec
		account *riscd.Account
		scopes  []string
		want    string // describeErr, or "grant N" for the grant that serves
	}{
		{"no grant at all", nil, nil, []string{"email"}, "not found"},
		{"account without grants", nil, &riscd.Account{Email: "a@example.com"}, []string{"email"}, "not found"},
		{"one active grant", []grantSpec{{[]string{"email", "openid"}, riscd.GrantActive, ""}}, nil, []string{"openid", "email"}, "grant 0"},
		{"no scopes asked", []grantSpec{{[]string{"email"}, riscd.GrantActive, ""}}, nil, nil, "grant 0"},
		{"newest active grant covering", []grantSpec{
			{[]string{"email", "drive"}, riscd.GrantActive, ""}, {[]string{"email", "drive"}, riscd.GrantActive, ""}, {[]string{"email"}, riscd.GrantActive, ""},
		}, nil, []string{"drive"}, "grant 1"},
		{"missing scopes", []grantSpec{{[]string{"email", "openid"}, riscd.GrantActive, ""}}, nil, []string{"email", "drive", "calendar"}, "missing drive calendar"},
		{"missing from the closest grant", []grantSpec{
			{[]string{"drive"}, riscd.GrantActive, ""}, {[]string{"email"}, riscd.GrantActive, ""},
		}, nil, []string{"drive", "calendar", "tasks"}, "missing calendar tasks"},
		{"held", []grantSpec{{[]string{"email"}, riscd.GrantHeld, "account-disabled/hijacking"}}, &riscd.Account{Held: true}, []string{"email"}, "state held (account-disabled/hijacking)"},
		{"held grant, account not marked", []grantSpec{{[]string{"email"}, riscd.GrantHeld, "account-disabled/none"}}, nil, []string{"email"}, "state held (account-disabled/none)"},
		{"held grant lacking scopes", []grantSpec{{[]string{"email"}, riscd.GrantHeld, "account-disabled/none"}}, nil, []string{"drive"}, "state held (account-disabled/none)"},
		{"revoked", []grantSpec{{[]string{"email"}, riscd.GrantRevoked, "token-revoked"}}, nil, []string{"email"}, "state revoked (token-revoked)"},
		{"revoked, account must consent again", []grantSpec{{[]string{"email"}, riscd.GrantRevoked, "invalid_grant"}},
			&riscd.Account{ReconsentRequired: true}, []string{"email"}, "state reconsent_required (invalid_grant)"},
		{"reconsent required beats an active grant", []grantSpec{{[]string{"email"}, riscd.GrantActive, ""}},
			&riscd.Account{ReconsentRequired: true}, []string{"email"}, "state reconsent_required (reconsent_required)"},
		{"account held beats an active grant", []grantSpec{{[]string{"email"}, riscd.GrantActive, ""}},
			&riscd.Account{Held: true}, []string{"email"}, "state held (account held)"},
		{"reauth required", []grantSpec{{[]string{"email"}, riscd.GrantReauthRequired, "invalid_rapt"}}, nil, []string{"email"}, "state reauth_required (invalid_rapt)"},
		{"a revoked grant behind an active one", []grantSpec{
			{[]string{"email"}, riscd.GrantActive, ""}, {[]string{"email"}, riscd.GrantRevoked, "token-revoked"},
		}, nil, []string{"email"}, "grant 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, nil)
			var ids []string
			for i, gs := range tc.grants {
				g, err := w.db.CreateGrant(w.ctx, riscd.Grant{
					Sub: subA, Scopes: gs.scopes, RefreshToken: riscd.Secret(refreshToken(uint64(i))),
					AccessToken: riscd.Secret(fmt.Sprint("ya29.grant-", i)), Expiry: w.clock.Now().Add(time.Hour),
					Status: gs.status, Reason: gs.reason,
				})
				if err != nil {
					t.Fatalf("CreateGrant: %v", err)
				}
				ids = append(ids, g.ID)
			}
			if tc.account != nil {
				a := *tc.account
				a.Sub = subA
				w.account(a)
			}
			tok, err := w.lc.Token(w.ctx, subA, tc.scopes)
			got := describeErr(err)
			if err == nil {
				got = fmt.Sprint("grant ", slices.Index(ids, tok.GrantID))
				if want := riscd.Secret(fmt.Sprint("ya29.grant-", slices.Index(ids, tok.GrantID))); tok.AccessToken != want {
					t.Errorf("served another grant's token")
				}
			}
			if got != tc.want {
				t.Errorf("Token: %s, want %s", got, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "ya29.") {
				t.Errorf("error %q shows a token", err)
			}
		})
	}
}

// Without a token endpoint, or without a refresh token, an expired token
// is not served; a token within its last minute still is.
func TestTokenWithoutRefresh(t *testing.T) {
	tests := []struct {
		name      string
		noRT      bool
		expiresIn time.Duration
		want      string
	}{
		{"no token endpoint, expired", false, -time.Second, "other"},
		{"no token endpoint, last minute", false, 30 * time.Second, "ok"},
		{"no refresh token, expired", true, -time.Second, "state reconsent_required (no refresh token)"},
		{"no refresh token, last minute", true, 30 * time.Second, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, nil)
			g := w.grant(subA, refreshToken(1))
			w.editGrant(g.ID, func(g *riscd.Grant) {
				g.Expiry = w.clock.Now().Add(tc.expiresIn)
				if tc.noRT {
					g.RefreshToken = ""
				}
			})
			_, err := w.lc.Token(w.ctx, subA, []string{"email"})
			got := describeErr(err)
			if strings.HasPrefix(got, "other") {
				got = "other"
				if !errors.Is(err, lifecycle.ErrNoRefresh) {
					t.Errorf("error %v, want ErrNoRefresh", err)
				}
			}
			if got != tc.want {
				t.Errorf("Token: %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("unknown grant", func(t *testing.T) {
		w := newWorld(t, nil)
		if _, _, err := w.lc.GrantToken(w.ctx, "0123456789abcdef01234567", ""); !errors.Is(err, riscd.ErrNotFound) {
			t.Errorf("GrantToken of an unknown grant: %v, want ErrNotFound", err)
		}
	})
}
