package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/adminclient"
)

func TestGrantsList(t *testing.T) {
	e := newAdminEnv(t)
	drive := e.grant("alice", []string{"openid", adminDriveScope}, riscd.GrantHeld, "hijacking")
	plain := e.grant("alice", []string{"openid"}, riscd.GrantActive, "")
	bob := e.grant("bob", []string{"openid", "email"}, riscd.GrantRevoked, "token-revoked")

	r := e.run("grants", "list").ok(t)
	tbl := parseAdminTable(t, r.stdout, "ID")
	if want := []string{"ID", "SUB", "STATUS", "SCOPES/FEATURES", "CREATED", "UPDATED"}; !slices.Equal(tbl.header, want) {
		t.Errorf("header %v, want %v", tbl.header, want)
	}
	wantRows := [][]string{
		{bob.ID, "bob", "revoked", "(2 scopes)", "2026-03-01T12:00:02Z", "2026-03-01T12:00:02Z"},
		{plain.ID, "alice", "active", "(1 scope)", "2026-03-01T12:00:01Z", "2026-03-01T12:00:01Z"},
		{drive.ID, "alice", "held", "drive (2 scopes)", "2026-03-01T12:00:00Z", "2026-03-01T12:00:00Z"},
	}
	if !slices.EqualFunc(tbl.rows, wantRows, slices.Equal) {
		t.Errorf("rows:\n got %q\nwant %q", tbl.rows, wantRows)
	}
	if r.stderr != "" {
		t.Errorf("stderr %q, want nothing after the last page", r.stderr)
	}

	filters := []struct {
		args []string
		want []string
	}{
		{[]string{"--sub", "alice"}, []string{plain.ID, drive.ID}},
		{[]string{"--status", "held"}, []string{drive.ID}},
		{[]string{"--feature", "drive"}, []string{drive.ID}},
		{[]string{"--scope", "email"}, []string{bob.ID}},
		{[]string{"--sub", "alice", "--status", "active"}, []string{plain.ID}},
	}
	for _, f := range filters {
		t.Run(strings.Join(f.args, " "), func(t *testing.T) {
			r := e.run(append([]string{"grants", "list"}, f.args...)...).ok(t)
			if got := parseAdminTable(t, r.stdout, "ID").column(t, "ID"); !slices.Equal(got, f.want) {
				t.Errorf("got %v, want %v", got, f.want)
			}
		})
	}
	t.Run("nothing matches", func(t *testing.T) {
		r := e.run("grants", "list", "--sub", "carol").ok(t)
		if strings.TrimSpace(r.stdout) != "no grants found" {
			t.Errorf("stdout %q", r.stdout)
		}
	})
	t.Run("unknown feature is the API's refusal", func(t *testing.T) {
		e.run("grants", "list", "--feature", "mail").fails(t, exitFailure, "feature must be one of: drive (HTTP 400 bad_request)")
	})
	t.Run("json", func(t *testing.T) {
		var page adminclient.GrantPage
		e.run("grants", "list", "--sub", "alice", "--json").ok(t).decode(t, &page)
		if len(page.Grants) != 2 || page.Grants[1].ID != drive.ID || page.Grants[1].Reason != "hijacking" ||
			!slices.Equal(page.Grants[1].Features, []string{"drive"}) || page.Grants[1].RefreshTokenFingerprint == "" {
			t.Errorf("got %+v", page.Grants)
		}
	})
}

func TestGrantsListPaging(t *testing.T) {
	e := newAdminEnv(t)
	var want []string
	for _, sub := range []string{"a", "b", "c", "d", "e"} {
		want = append(want, e.grant(sub, []string{"openid"}, riscd.GrantActive, "").ID)
	}
	slices.Reverse(want)

	// Page by page, with the cursor the hint names.
	var got []string
	args := []string{"grants", "list", "--limit", "2"}
	for pages := 0; ; pages++ {
		if pages == 5 {
			t.Fatalf("paging does not end")
		}
		r := e.run(args...).ok(t)
		ids := parseAdminTable(t, r.stdout, "ID").column(t, "ID")
		if len(ids) > 2 {
			t.Fatalf("a page of %d grants, want at most 2", len(ids))
		}
		got = append(got, ids...)
		if r.stderr == "" {
			break
		}
		hint := strings.Fields(r.stderr)
		i := slices.Index(hint, "--cursor")
		if !strings.HasPrefix(r.stderr, "more: riscd grants list --cursor ") || i < 0 || i+1 >= len(hint) {
			t.Fatalf("stderr %q is not the next-page hint", r.stderr)
		}
		args = []string{"grants", "list", "--limit", "2", "--cursor", hint[i+1]}
	}
	if !slices.Equal(got, want) {
		t.Errorf("page by page: got %v, want %v", got, want)
	}

	t.Run("all", func(t *testing.T) {
		before := e.requests.Load()
		r := e.run("grants", "list", "--limit", "2", "--all").ok(t)
		if got := parseAdminTable(t, r.stdout, "ID").column(t, "ID"); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		if n := e.requests.Load() - before; n != 3 {
			t.Errorf("%d requests, want 3 pages", n)
		}
		if r.stderr != "" {
			t.Errorf("stderr %q, want no hint after --all", r.stderr)
		}
	})
	t.Run("all as json", func(t *testing.T) {
		var page adminclient.GrantPage
		e.run("grants", "list", "--limit", "2", "--all", "--json").ok(t).decode(t, &page)
		var ids []string
		for _, g := range page.Grants {
			ids = append(ids, g.ID)
		}
		if !slices.Equal(ids, want) || page.NextCursor != "" {
			t.Errorf("got %v (next %q), want %v and no cursor", ids, page.NextCursor, want)
		}
	})
}

func TestGrantsShow(t *testing.T) {
	e := newAdminEnv(t)
	g := e.grant("alice", []string{"openid", adminDriveScope}, riscd.GrantHeld, "hijacking")
	if _, err := e.db.AppendAudit(context.Background(), riscd.AuditEntry{
		At: e.clock.Now(), Transmitter: "google", EventJTI: "jti-1", Sub: "alice", GrantIDs: []string{g.ID},
		Action: "hold_grants", Outcome: "held", Actor: "event", Detail: "account-disabled: hijacking",
	}); err != nil {
		t.Fatal(err)
	}

	r := e.run("grants", "show", g.ID).ok(t)
	fields := parseAdminFields(t, r.stdout)
	wantAdminFields(t, fields, map[string]string{
		"id": g.ID, "sub": "alice", "email": "alice@example.com", "status": "held", "reason": "hijacking",
		"changed by": "jti-alice", "features": "drive", "access token": "held, expires 2026-03-01T13:00:00Z",
		"created": "2026-03-01T12:00:00Z", "updated": "2026-03-01T12:00:00Z", "last used": "never", "refreshed": "never",
	})
	if got, want := fields["scopes"], []string{"2", "openid", adminDriveScope}; !slices.Equal(got, want) {
		t.Errorf("scopes %q, want %q", got, want)
	}
	if got := fields["refresh token"]; len(got) != 1 || !strings.HasPrefix(got[0], "fingerprint ") || strings.Contains(got[0], "fingerprint -") {
		t.Errorf("refresh token %q, want its fingerprints", got)
	}
	if strings.Contains(r.stdout, "secretpart") || strings.Contains(r.stdout, "ya29.") {
		t.Errorf("stdout shows a token:\n%s", r.stdout)
	}
	hist := parseAdminTable(t, r.stdout, "AT")
	if want := [][]string{{"2026-03-01T12:00:01Z", "event", "hold_grants", "held", "jti-1", "account-disabled: hijacking"}}; !slices.EqualFunc(hist.rows, want, slices.Equal) {
		t.Errorf("history %q, want %q", hist.rows, want)
	}

	t.Run("json", func(t *testing.T) {
		var d adminclient.GrantDetail
		e.run("grants", "show", g.ID, "--json").ok(t).decode(t, &d)
		if d.ID != g.ID || d.Status != adminclient.GrantHeld || len(d.History) != 1 || d.History[0].Action != "hold_grants" {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("unknown grant", func(t *testing.T) {
		e.run("grants", "show", "0000000000000000deadbeef").fails(t, exitFailure, "grant not found (HTTP 404 not_found)")
	})
}

func TestGrantsRevoke(t *testing.T) {
	e := newAdminEnv(t)
	g := e.grant("alice", []string{"openid"}, riscd.GrantActive, "")
	ctx := context.Background()

	r := e.run("grants", "revoke", g.ID, "--yes").ok(t)
	if want := "grant " + g.ID + ": revoked; its revocation at Google is queued in the outbox\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	got, err := e.db.Grant(ctx, g.ID)
	if err == nil && (got.Status != riscd.GrantRevoked || !got.RefreshToken.IsZero()) {
		t.Errorf("after revoke: status %s, refresh token kept %v; want revoked without tokens", got.Status, !got.RefreshToken.IsZero())
	}
	jobs, err := e.db.PendingOutbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(jobs, func(j riscd.OutboxJob) bool { return j.Kind == riscd.OutboxRevoke && j.GrantID == g.ID }) {
		t.Errorf("no upstream revocation of %s queued: %+v", g.ID, jobs)
	}
	audit, _, err := e.db.ListAudit(ctx, riscd.AuditQuery{Sub: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(audit, func(a riscd.AuditEntry) bool { return a.Actor == "operator" && slices.Contains(a.GrantIDs, g.ID) }) {
		t.Errorf("no audit entry by the operator naming %s: %+v", g.ID, audit)
	}

	t.Run("json", func(t *testing.T) {
		g2 := e.grant("bob", []string{"openid"}, riscd.GrantActive, "")
		var rev adminclient.Revocation
		e.run("grants", "revoke", "--yes", "--json", g2.ID).ok(t).decode(t, &rev)
		if rev != (adminclient.Revocation{ID: g2.ID, Status: "revoked", UpstreamRevocation: "queued"}) {
			t.Errorf("got %+v", rev)
		}
	})
	t.Run("unknown grant", func(t *testing.T) {
		e.run("grants", "revoke", "0000000000000000deadbeef", "--yes").fails(t, exitFailure, "grant not found (HTTP 404 not_found)")
	})
}

func TestGrantsTableNeutralisesControlCharacters(t *testing.T) {
	e := newAdminEnv(t)
	e.grant("mallory\x1b[2J\tx\ny", []string{"openid"}, riscd.GrantActive, "")
	r := e.run("grants", "list").ok(t)
	if strings.ContainsAny(r.stdout, "\x1b\t") {
		t.Errorf("stdout carries control characters: %q", r.stdout)
	}
	tbl := parseAdminTable(t, r.stdout, "ID")
	if len(tbl.rows) != 1 || tbl.rows[0][1] != "mallory [2J x y" {
		t.Errorf("rows %q, want one row with the sub made printable", tbl.rows)
	}
}
