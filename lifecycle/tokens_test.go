package lifecycle_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/googlesim"
)

// A prefix identifier is a candidate, not proof: every grant whose token
// starts with it is revoked, each subject gets its webhook.
func TestTokenRevokedByCollidingPrefix(t *testing.T) {
	const prefix = "1//0gCollideXYZ_" // 16 characters
	if len(prefix) != riscd.RefreshPrefixLen {
		t.Fatalf("test prefix has %d characters", len(prefix))
	}
	w := newWorld(t, nil)
	a1 := w.grant(subA, prefix+strings.Repeat("a", 80))
	a2 := w.grant(subA, refreshToken(7))
	b := w.grant(subB, prefix+strings.Repeat("b", 80))
	other := w.grant("110000000000000000003", "1//0gCollideXYZ-"+strings.Repeat("c", 80)) // differs in the 16th character

	tests := []struct {
		name       string
		identifier string
		revoked    []riscd.Grant
		record     string
	}{
		{"too short", prefix[:10], nil, "no matching token"},
		{"no stored token", "1//0gNothingHere", nil, "no matching token"},
		{"shared by two subjects", googlesim.PrefixIdentifier(a1.RefreshToken.Reveal()), []riscd.Grant{a1, b}, "recorded"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jti := "jti-prefix-" + tc.name
			auditBefore := len(w.audit())
			w.deliver(googleSET(t, jti, events.TypeTokenRevoked, tokenSubject(events.AlgPrefix, tc.identifier), ""))
			for _, g := range []riscd.Grant{a1, a2, b, other} {
				want := riscd.GrantActive
				if slices.ContainsFunc(tc.revoked, func(r riscd.Grant) bool { return r.ID == g.ID }) {
					want = riscd.GrantRevoked
				}
				if got := w.getGrant(g.ID); got.Status != want || (want == riscd.GrantRevoked) != (got.RefreshToken == "") {
					t.Errorf("case %d: grant of %s: status %s (token kept %v), want %s", i, g.Sub, got.Status, got.RefreshToken != "", want)
				}
			}
			var records []riscd.AuditEntry
			for _, e := range w.audit()[auditBefore:] {
				if e.Action == "record" {
					records = append(records, e)
				}
			}
			wantRecords := max(1, len(tc.revoked))
			if len(records) != wantRecords {
				t.Fatalf("%d record entries, want %d", len(records), wantRecords)
			}
			for _, e := range records {
				if e.Outcome != tc.record {
					t.Errorf("record outcome %q, want %q", e.Outcome, tc.record)
				}
				if strings.Contains(e.Detail, tc.identifier) {
					t.Errorf("audit detail %q quotes the token identifier", e.Detail)
				}
			}
			if len(tc.revoked) > 0 && !strings.Contains(records[0].Detail, "matched by prefix: 2 candidates") {
				t.Errorf("record detail %q does not say it matched by prefix", records[0].Detail)
			}
		})
	}

	stop := w.runOutbox()
	w.waitJobs()
	stop()
	var subs []string
	for _, h := range w.hooks.delivered() {
		subs = append(subs, h.payload.Sub)
		if h.payload.Type != "token-revoked" || len(h.payload.GrantIDs) != 1 {
			t.Errorf("webhook %+v: want one token-revoked grant", h.payload)
		}
	}
	slices.Sort(subs)
	if !slices.Equal(subs, []string{subA, subB}) {
		t.Errorf("webhooks for %q, want one each for A and B", subs)
	}
	for _, sub := range []string{subA, subB} {
		if !w.getAccount(sub).ReconsentRequired {
			t.Errorf("account %s: reconsent not required", sub)
		}
	}
}

// A second token-revoked (another jti) for a token already revoked finds no
// token: the first discarded it. It is audited and changes nothing.
func TestTokenRevokedTwiceDifferentJTI(t *testing.T) {
	w := newWorld(t, nil)
	tok := refreshToken(11)
	g := w.grant(subA, tok)
	w.deliver(googleSET(t, "first", events.TypeTokenRevoked, tokenSubject(events.AlgHashSHA512SHA512, hashID(tok, nil)), ""))
	w.deliver(googleSET(t, "second", events.TypeTokenRevoked, tokenSubject(events.AlgHashSHA512SHA512, hashID(tok, nil)), ""))
	if got := w.getGrant(g.ID); got.Status != riscd.GrantRevoked || got.ChangedBy != "first" {
		t.Errorf("grant: status %s changed by %q, want revoked by the first event", got.Status, got.ChangedBy)
	}
	var outcomes []string
	for _, e := range w.audit() {
		if e.Action == "record" {
			outcomes = append(outcomes, e.EventJTI+": "+e.Outcome)
		}
	}
	want := []string{"first: recorded", "second: no matching token"}
	if !slices.Equal(outcomes, want) {
		t.Errorf("record outcomes %q, want %q", outcomes, want)
	}
	if n := len(w.outbox()); n != 1 {
		t.Errorf("%d outbox jobs, want the first event's webhook only", n)
	}
}
