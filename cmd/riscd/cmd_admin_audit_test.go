package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/adminclient"
)

func TestAuditList(t *testing.T) {
	e := newAdminEnv(t)
	var ids []string
	for _, a := range []riscd.AuditEntry{
		{Sub: "alice", Action: "hold", Outcome: "ok", Actor: "event", EventType: "account-disabled", GrantIDs: []string{"g1"}},
		{Sub: "bob", Action: "revoke", Outcome: "ok", Actor: "operator:dana", Detail: "asked by the user"},
		{Sub: "alice", Action: "release", Outcome: "ok", Actor: "operator:erin", GrantIDs: []string{"g1"}},
	} {
		a.At = e.clock.Now()
		got, err := e.db.AppendAudit(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strconv.FormatUint(got.ID, 10))
	}

	r := e.run("audit", "list").ok(t)
	tbl := parseAdminTable(t, r.stdout, "ID")
	if want := []string{"ID", "AT", "ACTOR", "ACTION", "OUTCOME", "SUBJECT", "GRANTS", "EVENT", "DETAIL"}; !slices.Equal(tbl.header, want) {
		t.Errorf("header %v, want %v", tbl.header, want)
	}
	if got, want := tbl.column(t, "ID"), []string{ids[2], ids[1], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v (newest first)", got, want)
	}
	if got := tbl.column(t, "ACTOR"); !slices.Equal(got, []string{"operator:erin", "operator:dana", "event"}) {
		t.Errorf("actors %v", got)
	}

	r = e.run("audit", "list", "--sub", "alice").ok(t)
	if got := parseAdminTable(t, r.stdout, "ID").column(t, "ID"); !slices.Equal(got, []string{ids[2], ids[0]}) {
		t.Errorf("--sub alice: %v", got)
	}
	r = e.run("audit", "list", "--limit", "1").ok(t)
	if !strings.HasPrefix(r.stderr, "more: riscd audit list --cursor ") {
		t.Errorf("stderr %q, want the next-page hint", r.stderr)
	}
	var page adminclient.AuditPage
	e.run("audit", "list", "--limit", "1", "--all", "--json").ok(t).decode(t, &page)
	if len(page.Entries) != 3 || page.Entries[0].Action != "release" {
		t.Errorf("--all --json: %+v", page.Entries)
	}
	e.run("audit", "list", "--limit", "1000000").fails(t, exitUsage, "--limit")
}
