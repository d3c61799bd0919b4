package main

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/adminclient"
	"github.com/riscd/riscd/events"
)

func TestEventsList(t *testing.T) {
	e := newAdminEnv(t)
	done := e.event("jti-1", "alice", riscd.InboxDone, 1, "")
	parked := e.event("jti-2", "alice", riscd.InboxParked, 10, "lifecycle: revoke upstream: HTTP 503")
	other := e.event("jti-3", "bob", riscd.InboxPending, 0, "")
	id := func(x riscd.InboxEntry) string { return strconv.FormatUint(x.ID, 10) }

	r := e.run("events", "list").ok(t)
	tbl := parseAdminTable(t, r.stdout, "ID")
	if want := []string{"ID", "RECEIVED", "TRANSMITTER", "TYPE", "STATUS", "ATTEMPTS", "SUBJECT", "LAST_ERROR"}; !slices.Equal(tbl.header, want) {
		t.Errorf("header %v, want %v", tbl.header, want)
	}
	if got, want := tbl.column(t, "ID"), []string{id(other), id(parked), id(done)}; !slices.Equal(got, want) {
		t.Errorf("ids %v, want %v (newest first)", got, want)
	}
	row := tbl.rows[1]
	if want := []string{id(parked), "2026-03-01T12:00:01Z", "google", "account-disabled", "parked", "10",
		"iss_sub:https://accounts.google.com|alice", "lifecycle: revoke upstream: HTTP 503"}; !slices.Equal(row, want) {
		t.Errorf("parked row %q, want %q", row, want)
	}

	filters := []struct {
		args []string
		want []string
	}{
		{[]string{"--sub", "alice"}, []string{id(parked), id(done)}},
		{[]string{"--status", "parked"}, []string{id(parked)}},
		{[]string{"--type", "account-disabled", "--sub", "bob"}, []string{id(other)}},
		{[]string{"--type", events.TypeAccountDisabled, "--status", "done"}, []string{id(done)}},
	}
	for _, f := range filters {
		t.Run(strings.Join(f.args, " "), func(t *testing.T) {
			r := e.run(append([]string{"events", "list"}, f.args...)...).ok(t)
			if got := parseAdminTable(t, r.stdout, "ID").column(t, "ID"); !slices.Equal(got, f.want) {
				t.Errorf("got %v, want %v", got, f.want)
			}
		})
	}
	t.Run("paging", func(t *testing.T) {
		r := e.run("events", "list", "--limit", "1", "--sub", "alice").ok(t)
		if got := parseAdminTable(t, r.stdout, "ID").column(t, "ID"); !slices.Equal(got, []string{id(parked)}) {
			t.Errorf("first page %v", got)
		}
		if !strings.HasPrefix(r.stderr, "more: riscd events list --cursor ") {
			t.Errorf("stderr %q, want the next-page hint", r.stderr)
		}
		var page adminclient.EventPage
		e.run("events", "list", "--limit", "1", "--sub", "alice", "--all", "--json").ok(t).decode(t, &page)
		if len(page.Events) != 2 || page.Events[0].ID != parked.ID || page.Events[1].ID != done.ID {
			t.Errorf("--all: got %+v", page.Events)
		}
	})
}

func TestEventsShow(t *testing.T) {
	e := newAdminEnv(t)
	ev := e.event("jti-1", "alice", riscd.InboxParked, 10, "boom")
	r := e.run("events", "show", strconv.FormatUint(ev.ID, 10)).ok(t)
	fields := parseAdminFields(t, r.stdout)
	wantAdminFields(t, fields, map[string]string{
		"id": strconv.FormatUint(ev.ID, 10), "transmitter": "google", "iss": adminTestIssuer, "jti": "jti-1",
		"subject": "iss_sub:https://accounts.google.com|alice", "types": "account-disabled  " + events.TypeAccountDisabled,
		"status": "parked", "attempts": "10", "last error": "boom", "next attempt": "-",
		"received": "2026-03-01T12:00:00Z", "done": "-",
	})
	for _, want := range []string{
		"\nclaims:\n  {\n    \"aud\": \"client-1\",\n",
		"      \"" + events.TypeAccountDisabled + "\": {\n        \"reason\": \"hijacking\",",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "raw-set") {
		t.Errorf("stdout shows the token as received:\n%s", r.stdout)
	}
	_, claims, _ := strings.Cut(r.stdout, "claims:\n")
	var v map[string]any
	if err := json.Unmarshal([]byte(claims), &v); err != nil || v["jti"] != "jti-1" {
		t.Errorf("the claims do not decode as the SET's: %v, %v", v, err)
	}

	t.Run("json", func(t *testing.T) {
		var got adminclient.Event
		e.run("events", "show", strconv.FormatUint(ev.ID, 10), "--json").ok(t).decode(t, &got)
		var claims map[string]any
		if err := json.Unmarshal(got.Claims, &claims); err != nil || claims["jti"] != "jti-1" {
			t.Errorf("claims %s: %v", got.Claims, err)
		}
		if got.ID != ev.ID || got.Status != adminclient.EventParked || got.LastError != "boom" {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		e.run("events", "show", "999").fails(t, exitFailure, "event not found (HTTP 404 not_found)")
	})
}

func TestEventsRetry(t *testing.T) {
	e := newAdminEnv(t)
	ev := e.event("jti-1", "alice", riscd.InboxParked, 10, "boom")
	id := strconv.FormatUint(ev.ID, 10)

	r := e.run("events", "retry", id).ok(t)
	if want := "event " + id + " (account-disabled): pending again, with a fresh budget of attempts; riscd handles it now\n"; r.stdout != want {
		t.Errorf("stdout %q, want %q", r.stdout, want)
	}
	got, err := e.db.InboxEntry(t.Context(), ev.ID)
	if err != nil || got.Status != riscd.InboxPending || got.Attempts != 0 {
		t.Errorf("stored: status %s attempts %d, %v; want pending 0", got.Status, got.Attempts, err)
	}
	e.run("events", "retry", id).fails(t, exitFailure, "event "+id+" is pending; only a parked event can be retried (HTTP 409 not_parked)")

	t.Run("json", func(t *testing.T) {
		ev2 := e.event("jti-2", "alice", riscd.InboxParked, 10, "boom")
		var out adminclient.Event
		e.run("events", "retry", "--json", strconv.FormatUint(ev2.ID, 10)).ok(t).decode(t, &out)
		if out.ID != ev2.ID || out.Status != adminclient.EventPending {
			t.Errorf("got %+v", out)
		}
	})
}
