package admin_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
)

// accountJSON is GET /admin/accounts/{sub}'s answer.
type accountJSON struct {
	Sub               string      `json:"sub"`
	Known             bool        `json:"known"`
	Email             string      `json:"email"`
	Held              bool        `json:"held"`
	SigninDisabled    bool        `json:"signin_disabled"`
	Review            bool        `json:"review"`
	SessionsRevokedAt *time.Time  `json:"sessions_revoked_at"`
	Flags             []string    `json:"flags"`
	Grants            []grantJSON `json:"grants"`
	Timeline          []struct {
		At     time.Time  `json:"at"`
		Kind   string     `json:"kind"`
		Event  *eventJSON `json:"event"`
		Action *auditJSON `json:"action"`
	} `json:"timeline"`
}

// subjectJSON is the account state both APIs answer.
type subjectJSON struct {
	Sub                      string     `json:"sub"`
	SessionsRevokedAt        *time.Time `json:"sessions_revoked_at"`
	SigninDisabled           bool       `json:"signin_disabled"`
	Held                     bool       `json:"held"`
	Review                   bool       `json:"review"`
	ReconsentRequired        bool       `json:"reconsent_required"`
	CredentialChangeRequired bool       `json:"credential_change_required"`
	Purged                   bool       `json:"purged"`
	Grants                   []struct {
		ID     string   `json:"id"`
		Scopes []string `json:"scopes"`
		Status string   `json:"status"`
		Reason string   `json:"reason"`
	} `json:"grants"`
}

func TestShowAccount(t *testing.T) {
	e := newEnv(t, nil)
	revokedAt := t0.Add(-time.Hour)
	e.mustAccount(riscd.Account{Sub: "alice", Email: "alice@example.com", Held: true, SessionsRevokedAt: revokedAt, Flags: []string{"credential-change"}})
	g1 := e.mustGrant(grantSpec{sub: "alice", status: riscd.GrantHeld, reason: "hijacking"})
	e.clock.Advance(time.Second)
	g2 := e.mustGrant(grantSpec{sub: "alice"})
	e.mustGrant(grantSpec{sub: "bob"})

	ev := e.mustInbox(disabledEvent("j1", "alice", "hijacking"))
	e.clock.Advance(time.Second)
	act := e.mustAudit(riscd.AuditEntry{Sub: "alice", EventJTI: "j1", Action: "hold_grants", GrantIDs: []string{g1.ID}, Actor: "event"})
	e.clock.Advance(time.Second)
	e.mustInbox(disabledEvent("j2", "bob", ""))
	e.mustAudit(riscd.AuditEntry{Sub: "bob", Action: "record"})

	var got accountJSON
	e.get("/admin/accounts/alice", http.StatusOK).json(t, &got)
	if !got.Known || got.Sub != "alice" || got.Email != "alice@example.com" || !got.Held {
		t.Errorf("account %+v, want alice, known, held", got)
	}
	if got.SessionsRevokedAt == nil || !got.SessionsRevokedAt.Equal(revokedAt) {
		t.Errorf("sessions_revoked_at = %v, want %v", got.SessionsRevokedAt, revokedAt)
	}
	if want := []string{g2.ID, g1.ID}; !slices.Equal(ids(got.Grants), want) {
		t.Errorf("grants %v, want %v (newest first)", ids(got.Grants), want)
	}
	if len(got.Timeline) != 2 {
		t.Fatalf("timeline %+v, want alice's event and action", got.Timeline)
	}
	if it := got.Timeline[0]; it.Kind != "action" || it.Action == nil || it.Action.ID != act.ID {
		t.Errorf("timeline[0] = %+v, want the hold action (newest)", it)
	}
	if it := got.Timeline[1]; it.Kind != "event" || it.Event == nil || it.Event.ID != ev.ID || !slices.Equal(it.Event.TypeNames, []string{"account-disabled"}) {
		t.Errorf("timeline[1] = %+v, want the account-disabled event", it)
	}

	t.Run("grants without an account record", func(t *testing.T) {
		var got accountJSON
		e.get("/admin/accounts/bob", http.StatusOK).json(t, &got)
		if got.Known || len(got.Grants) != 1 {
			t.Errorf("got known=%v with %d grants, want unknown with 1", got.Known, len(got.Grants))
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if r := e.get("/admin/accounts/carol", http.StatusNotFound); r.errorCode(t) != admin.CodeNotFound {
			t.Errorf("error %s, want not_found", r.body)
		}
	})
	t.Run("escaped sub", func(t *testing.T) {
		e.mustAccount(accountOf("a/b c"))
		var got accountJSON
		e.get("/admin/accounts/a%2Fb%20c", http.StatusOK).json(t, &got)
		if got.Sub != "a/b c" {
			t.Errorf("sub = %q, want %q", got.Sub, "a/b c")
		}
	})
}

func TestReleaseAccount(t *testing.T) {
	e := newEnv(t, nil)
	e.mustAccount(riscd.Account{Sub: "alice", Held: true, SigninDisabled: true})
	g := e.mustGrant(grantSpec{sub: "alice", status: riscd.GrantHeld, reason: "hijacking"})

	r := e.do(http.MethodPost, "/admin/accounts/alice/release", adminToken, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	var got subjectJSON
	r.json(t, &got)
	if got.Held || got.SigninDisabled {
		t.Errorf("answer %+v, want the state after the release", got)
	}
	if len(got.Grants) != 1 || got.Grants[0].ID != g.ID {
		t.Errorf("grants %+v, want %s", got.Grants, g.ID)
	}
	if want := []opCall{{"ReleaseAccount", "alice", admin.ActorOperator}}; !slices.Equal(e.op.calls(), want) {
		t.Errorf("operator calls %v, want %v", e.op.calls(), want)
	}

	t.Run("unknown account", func(t *testing.T) {
		r := e.do(http.MethodPost, "/admin/accounts/carol/release", adminToken, nil)
		if r.status != http.StatusNotFound {
			t.Errorf("status %d, want 404", r.status)
		}
		if n := len(e.op.calls()); n != 1 {
			t.Errorf("operator called %d times, want still 1", n)
		}
	})
}
