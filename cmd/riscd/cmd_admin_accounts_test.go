package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/adminclient"
)

// seedHeldAccount seeds alice: a held account with a held grant, an event and
// the action it caused.
func seedHeldAccount(t *testing.T, e *adminEnv) (riscd.Grant, riscd.InboxEntry) {
	t.Helper()
	ctx := context.Background()
	if err := e.db.PutAccount(ctx, riscd.Account{Sub: "alice", Email: "alice@example.com", Held: true, SigninDisabled: true,
		SessionsRevokedAt: adminT0.Add(-time.Hour), Flags: []string{"credential-change"}}); err != nil {
		t.Fatal(err)
	}
	g := e.grant("alice", []string{"openid", adminDriveScope}, riscd.GrantHeld, "hijacking")
	ev := e.event("jti-1", "alice", riscd.InboxDone, 1, "")
	if _, err := e.db.AppendAudit(ctx, riscd.AuditEntry{
		At: e.clock.Now(), Transmitter: "google", EventJTI: "jti-1", Sub: "alice", GrantIDs: []string{g.ID},
		Action: "hold_grants", Outcome: "held", Actor: "event",
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	return g, ev
}

func TestAccountsShow(t *testing.T) {
	e := newAdminEnv(t)
	g, ev := seedHeldAccount(t, e)

	if byEmail := e.run("accounts", "show", "alice@example.com").ok(t); !strings.HasPrefix(byEmail.stdout, "sub:") || !strings.Contains(byEmail.stdout, " alice\n") {
		t.Errorf("accounts show by email:\n%s", byEmail.stdout)
	}
	e.run("accounts", "show", "nobody@example.com").fails(t, exitFailure, "no grant has the verified email nobody@example.com")
	r := e.run("accounts", "show", "alice").ok(t)
	wantAdminFields(t, parseAdminFields(t, r.stdout), map[string]string{
		"sub": "alice", "email": "alice@example.com", "state": "held, sign-in disabled",
		"sessions revoked": "2026-03-01T11:00:00Z", "flags": "credential-change", "account record": "yes",
		"created": "2026-03-01T12:00:00Z",
	})
	for _, want := range []string{"\ngrants (newest first):\n", "\ntimeline (newest first):\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	grants := parseAdminTable(t, r.stdout, "ID")
	if want := [][]string{{g.ID, "held", "hijacking", "drive (2 scopes)", "2026-03-01T12:00:00Z"}}; !slices.EqualFunc(grants.rows, want, slices.Equal) {
		t.Errorf("grants %q, want %q", grants.rows, want)
	}
	timeline := parseAdminTable(t, r.stdout, "AT")
	want := [][]string{
		{"2026-03-01T12:00:02Z", "action", "hold_grants", "held", "by event"},
		{"2026-03-01T12:00:01Z", "event", strconv.FormatUint(ev.ID, 10) + " account-disabled from google", "done after 1 attempts", "-"},
	}
	if !slices.EqualFunc(timeline.rows, want, slices.Equal) {
		t.Errorf("timeline:\n got %q\nwant %q", timeline.rows, want)
	}

	t.Run("json", func(t *testing.T) {
		var a adminclient.Account
		e.run("accounts", "show", "alice", "--json").ok(t).decode(t, &a)
		if !a.Held || !a.Known || len(a.Grants) != 1 || len(a.Timeline) != 2 || a.Timeline[1].Event == nil || a.Timeline[1].Event.ID != ev.ID {
			t.Errorf("got %+v", a)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		e.run("accounts", "show", "carol").fails(t, exitFailure, "account not found (HTTP 404 not_found)")
	})
	t.Run("a subject that needs escaping", func(t *testing.T) {
		odd := "tenant/42 x?y"
		e.grant(odd, []string{"openid"}, riscd.GrantActive, "")
		r := e.run("accounts", "show", odd).ok(t)
		wantAdminFields(t, parseAdminFields(t, r.stdout), map[string]string{
			"sub": odd, "account record": "no (riscd holds only grants of this subject)", "state": "no marks",
		})
	})
}

func TestAccountsRelease(t *testing.T) {
	e := newAdminEnv(t)
	g, _ := seedHeldAccount(t, e)

	// By the email of alice's grant, naming the operator for the audit.
	r := e.run("accounts", "release", "alice@example.com", "--actor", "dana").ok(t)
	if first, _, _ := strings.Cut(r.stdout, "\n"); !strings.HasPrefix(first, "released alice (now: ") || strings.Contains(first, "held") {
		t.Errorf("first line %q, want alice released and no longer held", first)
	}
	if got := parseAdminTable(t, r.stdout, "GRANT").rows; len(got) != 1 || got[0][0] != g.ID || got[0][1] != "active" {
		t.Errorf("grants %q, want %s active", got, g.ID)
	}
	a, err := e.db.Account(t.Context(), "alice")
	if err != nil || a.Held {
		t.Errorf("stored account held %v, %v; want released", a.Held, err)
	}
	if sg, err := e.db.Grant(t.Context(), g.ID); err != nil || sg.Status != riscd.GrantActive {
		t.Errorf("stored grant %s, %v; want active", sg.Status, err)
	}
	audit, _, err := e.db.ListAudit(t.Context(), riscd.AuditQuery{Sub: "alice", Limit: 1})
	if err != nil || len(audit) != 1 || audit[0].Actor != "operator:dana" {
		t.Errorf("last audit entry %+v (%v), want the release by operator:dana", audit, err)
	}
	e.run("accounts", "release", "alice", "--actor", "da na").fails(t, exitUsage, `--actor "da na"`)

	t.Run("json, and again", func(t *testing.T) {
		var s adminclient.Subject
		e.run("accounts", "release", "alice", "--json").ok(t).decode(t, &s)
		if s.Sub != "alice" || s.Held || len(s.Grants) != 1 || s.Grants[0].Status != adminclient.GrantActive {
			t.Errorf("got %+v", s)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		e.run("accounts", "release", "carol").fails(t, exitFailure, "not found (HTTP 404 not_found)")
	})
}
