package admin_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/admin/admintest"
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

func TestShowAccount(t *testing.T) {
	e := admintest.New(t, nil)
	revokedAt := admintest.T0.Add(-time.Hour)
	e.MustAccount(riscd.Account{Sub: "alice", Email: "alice@example.com", Held: true, SessionsRevokedAt: revokedAt, Flags: []string{"credential-change"}})
	g1 := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantHeld, Reason: "hijacking"})
	e.Clock.Advance(time.Second)
	g2 := e.MustGrant(admintest.GrantSpec{Sub: "alice"})
	e.MustGrant(admintest.GrantSpec{Sub: "bob"})

	ev := e.MustInbox(admintest.DisabledEvent("j1", "alice", "hijacking"))
	e.Clock.Advance(time.Second)
	act := e.MustAudit(riscd.AuditEntry{Sub: "alice", EventJTI: "j1", Action: "hold_grants", GrantIDs: []string{g1.ID}, Actor: "event"})
	e.Clock.Advance(time.Second)
	e.MustInbox(admintest.DisabledEvent("j2", "bob", ""))
	e.MustAudit(riscd.AuditEntry{Sub: "bob", Action: "record"})

	var got accountJSON
	e.Get("/admin/accounts/alice", http.StatusOK).JSON(t, &got)
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
		e.Get("/admin/accounts/bob", http.StatusOK).JSON(t, &got)
		if got.Known || len(got.Grants) != 1 {
			t.Errorf("got known=%v with %d grants, want unknown with 1", got.Known, len(got.Grants))
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if r := e.Get("/admin/accounts/carol", http.StatusNotFound); r.ErrorCode(t) != admin.CodeNotFound {
			t.Errorf("error %s, want not_found", r.Body)
		}
	})
	t.Run("escaped sub", func(t *testing.T) {
		e.MustAccount(admintest.AccountOf("a/b c"))
		var got accountJSON
		e.Get("/admin/accounts/a%2Fb%20c", http.StatusOK).JSON(t, &got)
		if got.Sub != "a/b c" {
			t.Errorf("sub = %q, want %q", got.Sub, "a/b c")
		}
	})
}

func TestReleaseAccount(t *testing.T) {
	e := admintest.New(t, nil)
	e.MustAccount(riscd.Account{Sub: "alice", Held: true, SigninDisabled: true})
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice", Status: riscd.GrantHeld, Reason: "hijacking"})

	r := e.Do(http.MethodPost, "/admin/accounts/alice/release", admintest.AdminToken, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	var got admintest.SubjectJSON
	r.JSON(t, &got)
	if got.Held || got.SigninDisabled {
		t.Errorf("answer %+v, want the state after the release", got)
	}
	if len(got.Grants) != 1 || got.Grants[0].ID != g.ID {
		t.Errorf("grants %+v, want %s", got.Grants, g.ID)
	}
	if want := []admintest.OpCall{{Method: "ReleaseAccount", Arg: "alice", Actor: admin.ActorOperator}}; !slices.Equal(e.Op.Calls(), want) {
		t.Errorf("operator calls %v, want %v", e.Op.Calls(), want)
	}

	t.Run("unknown account", func(t *testing.T) {
		r := e.Do(http.MethodPost, "/admin/accounts/carol/release", admintest.AdminToken, nil)
		if r.Status != http.StatusNotFound {
			t.Errorf("status %d, want 404", r.Status)
		}
		if n := len(e.Op.Calls()); n != 1 {
			t.Errorf("operator called %d times, want still 1", n)
		}
	})
}
