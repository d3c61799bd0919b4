package lifecycle_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/lifecycle"
)

// consentOf is a consent's result for sub holding refresh token rt.
func consentOf(w *world, sub, rt string) riscd.Grant {
	return riscd.Grant{
		Sub: sub, Email: sub + "@example.com", EmailVerified: true, Scopes: []string{"email", "openid"},
		RefreshToken: riscd.Secret(rt), AccessToken: riscd.Secret("ya29.consent-" + sub),
		TokenType: "Bearer", Expiry: w.clock.Now().Add(time.Hour), IDTokenExp: w.clock.Now().Add(time.Hour),
	}
}

// A first consent creates an active grant and the session; a second one
// with a new refresh token updates the same grant and queues the old token
// for upstream revocation, audited; the account's reconsent mark is cleared
// and the browser's previous session replaced.
func TestSaveConsentCreatesThenReplaces(t *testing.T) {
	w := newWorld(t, nil)
	const sub = "sub-consent"
	w.account(riscd.Account{Sub: sub, ReconsentRequired: true})
	first, err := w.lc.SaveConsent(w.ctx, consentOf(w, sub, refreshToken(1)),
		riscd.Session{ID: "session-1", Sub: sub, CSRF: "csrf-1", CreatedAt: w.clock.Now()}, "")
	if err != nil {
		t.Fatalf("SaveConsent: %v", err)
	}
	if first.ID == "" || first.Status != riscd.GrantActive || first.RefreshToken.Reveal() != refreshToken(1) || !first.EmailVerified {
		t.Fatalf("first grant %+v, want an active grant holding the consent's tokens", first)
	}
	if !w.hasSession("session-1") {
		t.Error("the session was not created")
	}
	if a := w.getAccount(sub); a.ReconsentRequired || a.Email != sub+"@example.com" {
		t.Errorf("account %+v, want the reconsent mark cleared and the email set", a)
	}
	if jobs := w.outbox(); len(jobs) != 0 {
		t.Fatalf("a first consent queued %d jobs", len(jobs))
	}

	second, err := w.lc.SaveConsent(w.ctx, consentOf(w, sub, refreshToken(2)),
		riscd.Session{ID: "session-2", Sub: sub, CSRF: "csrf-2", CreatedAt: w.clock.Now()}, "session-1")
	if err != nil {
		t.Fatalf("SaveConsent again: %v", err)
	}
	if second.ID != first.ID || second.RefreshToken.Reveal() != refreshToken(2) {
		t.Fatalf("second grant %+v, want grant %s holding the new refresh token", second, first.ID)
	}
	if w.hasSession("session-1") || !w.hasSession("session-2") {
		t.Error("the previous session was not replaced")
	}
	jobs := w.outbox()
	if len(jobs) != 1 || jobs[0].Kind != riscd.OutboxRevoke || jobs[0].Token != first.RefreshToken ||
		jobs[0].GrantID != first.ID || jobs[0].Key != sub || !jobs[0].Deadline.After(w.clock.Now()) {
		t.Fatalf("outbox %+v, want one revocation of the replaced refresh token", jobs)
	}
	var actions []string
	for _, a := range w.audit() {
		actions = append(actions, a.Action+" "+a.Outcome)
	}
	for _, want := range []string{"consent grant created", "replace-refresh-token old token queued for upstream revocation", "consent grant updated"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit %q lacks %q", actions, want)
		}
	}
	w.assertNoSecret(refreshToken(1), refreshToken(2))
}

// A consent of a held account saves the grant held; a consent of an account
// whose sign-in is disabled is refused and writes nothing.
func TestSaveConsentHeldAndDisabled(t *testing.T) {
	w := newWorld(t, nil)
	w.account(riscd.Account{Sub: "held", Held: true})
	g, err := w.lc.SaveConsent(w.ctx, consentOf(w, "held", refreshToken(3)), riscd.Session{}, "")
	if err != nil || g.Status != riscd.GrantHeld {
		t.Fatalf("SaveConsent(held account) = %+v, %v; want a held grant", g, err)
	}

	w.account(riscd.Account{Sub: "disabled", SigninDisabled: true})
	before := len(w.audit())
	_, err = w.lc.SaveConsent(w.ctx, consentOf(w, "disabled", refreshToken(4)),
		riscd.Session{ID: "session-d", Sub: "disabled", CSRF: "csrf-d", CreatedAt: w.clock.Now()}, "")
	var sd interface{ SigninDisabled() bool }
	if !errors.Is(err, lifecycle.ErrSigninDisabled) || !errors.As(err, &sd) || !sd.SigninDisabled() {
		t.Fatalf("SaveConsent(sign-in disabled) = %v, want ErrSigninDisabled", err)
	}
	if gs, _ := w.db.GrantsBySub(w.ctx, "disabled"); len(gs) != 0 || w.hasSession("session-d") || len(w.audit()) != before {
		t.Error("a refused consent wrote something")
	}
}

// A user's revoke sends the refresh token to the revoke endpoint and, on
// its 200, marks every live grant of the user revoked with the tokens
// discarded and one audit entry; without a live grant nothing is sent.
func TestRevokeUserGrants(t *testing.T) {
	w := newSimWorld(t, 1, nil)
	sub := w.subs[0]
	other := w.grant(sub, refreshToken(5))
	g := w.simGrant(sub, w.clock.Now().Add(time.Hour)) // the newest: its token is sent

	confirmed, outcome, err := w.lc.RevokeUserGrants(w.ctx, sub)
	if err != nil || !confirmed || outcome != "confirmed (HTTP 200)" {
		t.Fatalf("RevokeUserGrants = %v %q %v, want confirmed", confirmed, outcome, err)
	}
	if !w.sim.IsRevoked(w.rts[sub]) || w.sim.Stats().Revocations != 1 {
		t.Error("the newest grant's refresh token was not revoked at the endpoint, or not alone")
	}
	for _, id := range []string{g.ID, other.ID} {
		if got := w.getGrant(id); got.Status != riscd.GrantRevoked || got.Reason != "user-revoked" ||
			got.ChangedBy != "user" || !got.RefreshToken.IsZero() || !got.AccessToken.IsZero() {
			t.Errorf("grant %s = %+v, want revoked by the user without tokens", id, got)
		}
	}
	audit := w.audit()
	if n := len(audit); n != 1 || audit[n-1].Action != "revoke" || audit[n-1].Outcome != "revoked; confirmed upstream" || len(audit[n-1].GrantIDs) != 2 {
		t.Errorf("newest audit %+v, want one revoke entry naming both grants", audit)
	}
	revocations := w.sim.Stats().Revocations

	if _, _, err := w.lc.RevokeUserGrants(w.ctx, sub); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("RevokeUserGrants without a live grant = %v, want store.ErrNotFound", err)
	}
	if w.sim.Stats().Revocations != revocations || len(w.audit()) != len(audit) {
		t.Error("a revoke without a live grant sent or wrote something")
	}
	w.assertNoSecret(w.rts[sub], refreshToken(5))
}

// A revoke endpoint that does not answer 200 leaves the grants revoked all
// the same, the outcome naming the answer.
func TestRevokeUserGrantsUnconfirmed(t *testing.T) {
	w := newWorld(t, nil) // its revoke endpoint refuses connections
	g := w.grant("sub-unconfirmed", refreshToken(6))
	confirmed, outcome, err := w.lc.RevokeUserGrants(w.ctx, g.Sub)
	if err != nil || confirmed || outcome != "the revoke endpoint could not be reached" {
		t.Fatalf("RevokeUserGrants = %v %q %v, want unconfirmed, unreachable", confirmed, outcome, err)
	}
	if got := w.getGrant(g.ID); got.Status != riscd.GrantRevoked || !got.RefreshToken.IsZero() {
		t.Errorf("grant %+v, want revoked without tokens", got)
	}
	if a := w.audit(); len(a) != 1 || a[0].Outcome != "revoked; unconfirmed upstream" || a[0].Detail != outcome {
		t.Errorf("newest audit %+v, want the unconfirmed revoke", a)
	}
}
