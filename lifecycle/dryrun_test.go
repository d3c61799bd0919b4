package lifecycle_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/lifecycle"
)

// Dry run changes nothing but the audit log, whose entries say what would
// have been done; turning dry run off later acts for real.
func TestDryRun(t *testing.T) {
	w := newWorld(t, func(c *lifecycle.Config) {
		c.DryRun = true
		c.Actions = map[string][]string{"tokens-revoked": {"end_sessions", "revoke_upstream", "revoke_grants", "mark_reconsent", "notify"}}
	})
	s := seed(w)
	set := googleSET(t, "jti-dry", events.TypeTokensRevoked, issSub(subA), "")
	w.deliver(set)
	w.deliver(set) // redelivered: nothing more

	check := func(when string) {
		t.Helper()
		for name, g := range s.grants {
			got := w.getGrant(g.ID)
			if got.Status != riscd.GrantActive || got.RefreshToken.Reveal() != s.tokens[name] {
				t.Errorf("%s: grant %s changed: status %s", when, name, got.Status)
			}
		}
		if got := acctOf(w.getAccount(subA)); got != (acct{Email: "a@example.com"}) {
			t.Errorf("%s: account changed: %+v", when, got)
		}
		if !w.hasSession("sess-old") || !w.hasSession("sess-new") {
			t.Errorf("%s: a session was ended", when)
		}
		if jobs := w.outbox(); len(jobs) != 0 {
			t.Errorf("%s: %d outbox jobs, want none", when, len(jobs))
		}
	}
	check("after a dry run")

	entries := w.audit()
	var got []string
	for _, e := range entries {
		if !e.DryRun {
			t.Errorf("audit entry %s is not flagged dry run", e.Action)
		}
		got = append(got, e.Action+": "+e.Outcome)
	}
	want := []string{
		"record: recorded",
		"end_sessions: ended 1 sessions created before 2026-03-01T12:00:00.999999999Z",
		"revoke_upstream: queued 2 upstream revocations",
		"revoke_grants: revoked 2 grants",
		"mark_reconsent: set",
	}
	if len(got) != 6 || !slices.Equal(got[:5], want) || !strings.HasPrefix(got[5], "notify: webhook queued") {
		t.Errorf("dry-run audit:\n got %q\nwant %q and a notify entry", got, want)
	}

	w.reopen()
	w.deliver(set)
	check("after redelivery")
	if n := len(w.audit()); n != len(entries) {
		t.Errorf("redelivered dry run: %d audit entries, want %d", n, len(entries))
	}

	// The same event, dry run off: acted on for real.
	w.cfg.DryRun = false
	w.lc = w.build(w.cfg)
	w.deliver(set)
	if got := w.getGrant(s.grants["a1"].ID); got.Status != riscd.GrantRevoked {
		t.Errorf("after dry run was turned off: grant status %s, want revoked", got.Status)
	}
	if n := len(w.outbox()); n != 3 {
		t.Errorf("after dry run was turned off: %d outbox jobs, want 2 revocations and a webhook", n)
	}
}
