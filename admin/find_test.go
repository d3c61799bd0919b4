package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
)

// mustEmailGrant gives sub a grant carrying email, verified.
func mustEmailGrant(t *testing.T, e *admintest.Env, sub, email string) riscd.Grant {
	t.Helper()
	g, err := e.DB.CreateGrant(t.Context(), riscd.Grant{Sub: sub, Email: email, EmailVerified: true, Scopes: []string{"openid", "email"},
		RefreshToken: riscd.Secret("1//0find-" + sub), Status: riscd.GrantHeld, Reason: "hijacking"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Wherever the admin API takes a subject it takes a verified email too,
// found through the grants' verified emails.
func TestSubjectByEmail(t *testing.T) {
	e := admintest.New(t, nil)
	e.MustAccount(riscd.Account{Sub: "alice", Email: "alice@example.com", Held: true})
	g := mustEmailGrant(t, e, "alice", "Alice@Example.com")
	mustEmailGrant(t, e, "bob", "shared@example.com")
	mustEmailGrant(t, e, "carol", "shared@example.com")
	e.MustAudit(riscd.AuditEntry{At: admintest.T0, Sub: "alice", Action: "hold_grants", Outcome: "held", Actor: "event"})

	var acct accountJSON
	e.Get("/admin/accounts/alice@example.com", http.StatusOK).JSON(t, &acct)
	if acct.Sub != "alice" || len(acct.Grants) != 1 || acct.Grants[0].ID != g.ID {
		t.Errorf("account by email: %+v, want alice's", acct)
	}
	var grants grantListJSON
	e.Get("/admin/grants?sub=alice%40example.com", http.StatusOK).JSON(t, &grants)
	if len(grants.Grants) != 1 || grants.Grants[0].ID != g.ID {
		t.Errorf("grants by email: %v, want alice's", ids(grants.Grants))
	}
	var audit auditListJSON
	e.Get("/admin/audit?sub=alice%40example.com", http.StatusOK).JSON(t, &audit)
	if len(audit.Entries) != 1 || audit.Entries[0].Sub != "alice" {
		t.Errorf("audit by email: %+v, want alice's entry", audit.Entries)
	}

	r := e.Get("/admin/accounts/nobody@example.com", http.StatusNotFound)
	if !strings.Contains(string(r.Body), "no grant has the verified email nobody@example.com") {
		t.Errorf("unknown email: %s", r.Body)
	}
	r = e.Get("/admin/grants?sub=shared%40example.com", http.StatusBadRequest)
	if !strings.Contains(string(r.Body), "several subjects (bob, carol)") {
		t.Errorf("shared email: %s", r.Body)
	}

	r = e.Do(http.MethodPost, "/admin/accounts/alice@example.com/release?actor=dana", admintest.AdminToken, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("release by email: %d %s", r.Status, r.Body)
	}
	if calls := e.Op.Calls(); len(calls) != 1 || calls[0] != (admintest.OpCall{Method: "ReleaseAccount", Arg: "alice", Actor: "operator:dana"}) {
		t.Errorf("operator calls %+v, want alice released by operator:dana", calls)
	}
}

// The actor parameter names the operator in the audit; a name that could
// not be shown as it is, is refused before anything is done.
func TestActorParameter(t *testing.T) {
	e := admintest.New(t, nil)
	e.MustAccount(riscd.Account{Sub: "alice", Held: true})
	for _, tc := range []struct{ query, actor string }{{"", admin.ActorOperator}, {"?actor=erin%40example.com", "operator:erin@example.com"}} {
		if r := e.Do(http.MethodPost, "/admin/accounts/alice/release"+tc.query, admintest.AdminToken, nil); r.Status != http.StatusOK {
			t.Fatalf("release%s: %d %s", tc.query, r.Status, r.Body)
		}
		calls := e.Op.Calls()
		if got := calls[len(calls)-1].Actor; got != tc.actor {
			t.Errorf("release%s: actor %q, want %q", tc.query, got, tc.actor)
		}
	}
	n := len(e.Op.Calls())
	for _, bad := range []string{"a%20b", "x%0Ay", strings.Repeat("x", 65)} {
		if r := e.Do(http.MethodPost, "/admin/accounts/alice/release?actor="+bad, admintest.AdminToken, nil); r.Status != http.StatusBadRequest {
			t.Errorf("actor %q: status %d, want 400", bad, r.Status)
		}
	}
	if len(e.Op.Calls()) != n {
		t.Error("a refused actor reached the operator")
	}
}
