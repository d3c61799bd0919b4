package lifecycle_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/googlesim"
	"github.com/riscd/riscd/lifecycle"
)

// invalid_grant revokes the grant and asks the account for a new consent;
// invalid_rapt asks for re-authentication and keeps the tokens. Either way
// in one transaction with audit entries and a webhook, and later callers
// get the same answer without another upstream call.
func TestRefreshRefused(t *testing.T) {
	tests := []struct {
		name       string
		tokenError googlesim.TokenError
		want       string
		status     riscd.GrantStatus
		reason     string
		tokensKept bool
		reconsent  bool
		audit      []string
		hook       string
		observed   string
	}{
		{
			name: "invalid_grant", tokenError: googlesim.TokenError{Code: "invalid_grant", Description: "Token has been expired or revoked."},
			want: "state reconsent_required (invalid_grant)", status: riscd.GrantRevoked, reason: "invalid_grant", reconsent: true,
			audit: []string{"record: recorded", "revoke_grants: revoked 1 grants", "mark_reconsent: set", "notify: webhook queued"},
			hook:  "refresh:invalid_grant revoke_grants,mark_reconsent", observed: lifecycle.RefreshInvalidGrant,
		},
		{
			name: "invalid_rapt", tokenError: googlesim.InvalidRAPT(),
			want: "state reauth_required (invalid_rapt)", status: riscd.GrantReauthRequired, reason: "invalid_rapt", tokensKept: true,
			audit: []string{"record: recorded", "require_reauth: 1 grants need re-authentication", "notify: webhook queued"},
			hook:  "refresh:invalid_rapt require_reauth", observed: lifecycle.RefreshInvalidRAPT,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := newCountingObserver()
			w := newSimWorld(t, 1, func(c *lifecycle.Config) { c.Observer = obs })
			sub := w.subs[0]
			w.account(riscd.Account{Sub: sub, Email: "user0@example.com"})
			g := w.simGrant(sub, w.clock.Now().Add(-time.Second))
			w.sim.SetTokenError("refresh_token", tc.tokenError, 1)

			_, err := w.lc.Token(w.ctx, sub, []string{"email"})
			if got := describeErr(err); got != tc.want {
				t.Fatalf("Token: %s, want %s", got, tc.want)
			}
			var se *lifecycle.StateError
			if !errors.As(err, &se) || se.GrantID != g.ID {
				t.Errorf("error %#v does not name grant %s", err, g.ID)
			}
			got := w.getGrant(g.ID)
			kept := got.RefreshToken == g.RefreshToken && got.AccessToken == g.AccessToken
			gone := got.RefreshToken.IsZero() && got.AccessToken.IsZero()
			if got.Status != tc.status || got.Reason != tc.reason || got.ChangedBy != "refresh" || (tc.tokensKept && !kept) || (!tc.tokensKept && !gone) {
				t.Errorf("grant %s (%s by %s), tokens kept %v discarded %v; want %s (%s by refresh), kept %v",
					got.Status, got.Reason, got.ChangedBy, kept, gone, tc.status, tc.reason, tc.tokensKept)
			}
			if a := w.getAccount(sub); a.ReconsentRequired != tc.reconsent {
				t.Errorf("account reconsent_required %v, want %v", a.ReconsentRequired, tc.reconsent)
			}
			var entries []string
			for _, e := range w.audit() {
				outcome, _, _ := strings.Cut(e.Outcome, " (msg_")
				entries = append(entries, e.Action+": "+outcome)
				if e.Actor != "refresher" || e.Sub != sub {
					t.Errorf("audit entry %q by %q about %q, want by refresher about %s", e.Action, e.Actor, e.Sub, sub)
				}
			}
			if strings.Join(entries, "|") != strings.Join(tc.audit, "|") {
				t.Errorf("audit %q, want %q", entries, tc.audit)
			}
			for _, e := range w.audit() {
				if (e.Action == "revoke_grants" || e.Action == "require_reauth") && (len(e.GrantIDs) != 1 || e.GrantIDs[0] != g.ID) {
					t.Errorf("audit %s names grants %v, want [%s]", e.Action, e.GrantIDs, g.ID)
				}
			}

			// A later caller learns it from the store: no second request.
			if _, err := w.lc.Token(w.ctx, sub, []string{"email"}); describeErr(err) != tc.want {
				t.Errorf("second Token: %s, want %s", describeErr(err), tc.want)
			}
			if got := w.refreshRequests(); got != 1 {
				t.Errorf("refresh requests = %d, want 1", got)
			}
			if got := obs.refreshCount(tc.observed); got != 1 || len(obs.refreshes) != 1 {
				t.Errorf("observer heard %v, want one %s", obs.refreshes, tc.observed)
			}

			jobs := w.outbox()
			if len(jobs) != 1 || jobs[0].Kind != riscd.OutboxWebhook || jobs[0].Status != riscd.OutboxPending {
				t.Fatalf("outbox %+v, want one pending webhook", jobs)
			}
			stop := w.runOutbox()
			w.waitJobs()
			stop()
			hooks := w.hooks.delivered()
			if len(hooks) != 1 {
				t.Fatalf("%d webhooks delivered, want 1", len(hooks))
			}
			p := hooks[0].payload
			if got := p.Type + " " + p.Action; got != tc.hook || p.Sub != sub || len(p.GrantIDs) != 1 || p.GrantIDs[0] != g.ID || p.EventJTI != "" {
				t.Errorf("webhook %+v, want %s about %s and grant %s", p, tc.hook, sub, g.ID)
			}
			w.assertNoSecret(w.rts[sub], g.AccessToken.Reveal())
		})
	}
}

// The token endpoint failing (500, or hanging past the refresh timeout):
// callers get the stored token while it has not expired, else a temporary
// error; during the backoff no new request goes upstream; once the
// endpoint is back and the backoff over, refreshing resumes.
func TestRefreshUpstreamDown(t *testing.T) {
	tests := []struct {
		name      string
		fault     googlesim.Fault
		expiresIn time.Duration
		want      string
	}{
		{"500, token expired", googlesim.Fault{Status: http.StatusInternalServerError}, -time.Minute, "upstream temporary=true"},
		{"500, token in its last minute", googlesim.Fault{Status: http.StatusInternalServerError}, 30 * time.Second, "ok"},
		{"503, token expired", googlesim.Fault{Status: http.StatusServiceUnavailable}, -time.Minute, "upstream temporary=true"},
		{"hang, token expired", googlesim.Fault{Hang: true}, -time.Minute, "upstream temporary=true"},
		{"hang, token in its last minute", googlesim.Fault{Hang: true}, 30 * time.Second, "ok"},
		{"401 invalid_client", googlesim.Fault{Status: http.StatusUnauthorized}, -time.Minute, "upstream temporary=false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := newCountingObserver()
			w := newSimWorld(t, 1, func(c *lifecycle.Config) { c.RefreshTimeout, c.Observer = 1500*time.Millisecond, obs })
			sub := w.subs[0]
			g := w.simGrant(sub, w.clock.Now().Add(tc.expiresIn))
			if err := w.sim.SetFault(googlesim.EndpointToken, tc.fault); err != nil {
				t.Fatal(err)
			}
			call := func() (lifecycle.Token, error) {
				t.Helper()
				tok, err := w.lc.Token(w.ctx, sub, []string{"email"})
				if got := describeErr(err); got != tc.want {
					t.Fatalf("Token: %s, want %s", got, tc.want)
				}
				if err == nil && tok.AccessToken != g.AccessToken {
					t.Fatalf("Token served another token than the stored one")
				}
				return tok, err
			}
			_, err := call()
			var ue *lifecycle.UpstreamError
			if err != nil && (!errors.As(err, &ue) || !errors.Is(err, lifecycle.ErrTokenEndpoint) || ue.GrantID != g.ID || !ue.RetryAt.After(w.clock.Now())) {
				t.Errorf("error %#v: want an UpstreamError of grant %s wrapping ErrTokenEndpoint with a RetryAt ahead", err, g.ID)
			}
			if got := w.tokenRequests(); got != 1 {
				t.Fatalf("token requests = %d, want 1", got)
			}
			// Within the backoff: the same answer, no new request.
			w.clock.Advance(400 * time.Millisecond) // less than the first backoff's 500ms
			call()
			call()
			if got := w.tokenRequests(); got != 1 {
				t.Errorf("token requests during the backoff = %d, want still 1", got)
			}
			if got := w.getGrant(g.ID); got.Status != riscd.GrantActive || got.AccessToken != g.AccessToken || got.RefreshToken != g.RefreshToken {
				t.Errorf("grant changed by a failed refresh: %s", got.Status)
			}

			// Back up, backoff over: refreshed.
			w.sim.ClearFaults()
			w.clock.Advance(5 * time.Second)
			tok, err := w.lc.Token(w.ctx, sub, []string{"email"})
			if err != nil || tok.AccessToken == g.AccessToken {
				t.Fatalf("after recovery: Token = %v, new token %v", err, err == nil && tok.AccessToken != g.AccessToken)
			}
			if got := w.sim.RefreshCount(w.rts[sub]); got != 1 {
				t.Errorf("refreshes after recovery = %d, want 1", got)
			}
			if ok, failed := obs.refreshCount(lifecycle.RefreshOK), obs.refreshCount(lifecycle.RefreshError); ok != 1 || failed != 1 {
				t.Errorf("observer heard %d refreshes ok and %d failed, want 1 and 1", ok, failed)
			}
			if got := w.getGrant(g.ID).AccessToken; got != tok.AccessToken {
				t.Errorf("the refreshed token was not stored")
			}
			if err != nil && strings.Contains(err.Error(), w.rts[sub]) {
				t.Errorf("error shows the refresh token")
			}
			w.assertNoSecret(w.rts[sub], g.AccessToken.Reveal(), tok.AccessToken.Reveal())
		})
	}
}

// Consecutive failures double the backoff, up to its maximum.
func TestRefreshBackoffGrows(t *testing.T) {
	w := newSimWorld(t, 1, func(c *lifecycle.Config) { c.RefreshBackoffBase, c.RefreshBackoffMax = time.Second, 4*time.Second })
	sub := w.subs[0]
	w.simGrant(sub, w.clock.Now().Add(-time.Minute))
	if err := w.sim.SetFault(googlesim.EndpointToken, googlesim.Fault{Status: http.StatusBadGateway}); err != nil {
		t.Fatal(err)
	}
	// Equal jitter: failure n waits between half and all of min(base*2^(n-1), max).
	bounds := [][2]time.Duration{{500 * time.Millisecond, time.Second}, {time.Second, 2 * time.Second}, {2 * time.Second, 4 * time.Second}, {2 * time.Second, 4 * time.Second}}
	for i, b := range bounds {
		_, err := w.lc.Token(w.ctx, sub, nil)
		var ue *lifecycle.UpstreamError
		if !errors.As(err, &ue) {
			t.Fatalf("failure %d: %v, want an UpstreamError", i+1, err)
		}
		wait := ue.RetryAt.Sub(w.clock.Now())
		if wait < b[0] || wait > b[1] {
			t.Errorf("failure %d: backoff %v, want within %v", i+1, wait, b)
		}
		if got := w.tokenRequests(); got != i+1 {
			t.Errorf("failure %d: %d token requests, want %d", i+1, got, i+1)
		}
		if got := ue.Error(); !strings.Contains(got, "HTTP 502") {
			t.Errorf("error %q does not name the status", got)
		}
		w.clock.Advance(wait)
	}
}
