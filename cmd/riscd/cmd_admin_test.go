package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin"
	"github.com/riscd/riscd/adminclient"
	"github.com/riscd/riscd/config"
)

func TestAdminHelp(t *testing.T) {
	for _, args := range [][]string{
		{"grants", "--help"}, {"grants", "list", "--help"}, {"grants", "show", "--help"}, {"grants", "revoke", "-h"},
		{"events", "help"}, {"events", "list", "--help"}, {"events", "show", "--help"}, {"events", "retry", "--help"},
		{"accounts", "--help"}, {"accounts", "show", "--help"}, {"accounts", "release", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			e := &adminEnv{t: t}
			r := e.runWith(nil, args...)
			if r.code != exitOK || !strings.Contains(r.stdout, "Usage: riscd "+args[0]) {
				t.Errorf("exit %d, stdout %q; want 0 and a usage text", r.code, r.stdout)
			}
			if len(args) == 3 && !strings.Contains(r.stdout, "-internal-url") {
				t.Errorf("the usage of %s does not list the connection flags:\n%s", args[1], r.stdout)
			}
		})
	}
}

func TestAdminUsageErrors(t *testing.T) {
	e := newAdminEnv(t)
	g := e.grant("alice", []string{"openid"}, riscd.GrantActive, "")
	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"flag before the subcommand", []string{"grants"}, []string{"the subcommand comes first: riscd grants <list|show|revoke> [flags]"}},
		{"unknown subcommand", []string{"events", "delete", "1"}, []string{`unknown subcommand "delete"`}},
		{"missing argument", []string{"grants", "show"}, []string{"usage: riscd grants show ID"}},
		{"extra argument", []string{"accounts", "show", "alice", "bob"}, []string{"usage: riscd accounts show SUB"}},
		{"bad grant status", []string{"grants", "list", "--status", "paused"}, []string{`--status "paused": must be one of active, held, revoked, reauth_required`}},
		{"bad event status", []string{"events", "list", "--status", "failed"}, []string{"must be one of pending, done, parked"}},
		{"limit too large", []string{"grants", "list", "--limit", "5000"}, []string{"--limit must be from 1 to 1000"}},
		{"event id not a number", []string{"events", "show", "abc"}, []string{`event id "abc": must be a positive whole number`}},
		{"event id zero", []string{"events", "retry", "0"}, []string{`event id "0"`}},
		{"revoke without --yes", []string{"grants", "revoke", g.ID}, []string{"not revoking grant " + g.ID + " without --yes", "cannot be undone"}},
		{"bad timeout", []string{"grants", "list", "--timeout", "0s"}, []string{"--timeout must be positive"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.requests.Load()
			e.run(tc.args...).fails(t, exitUsage, tc.wants...)
			if n := e.requests.Load() - before; n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
	t.Run("no subcommand", func(t *testing.T) {
		e.runWith(nil, "grants").fails(t, exitUsage, "a subcommand is required: list, show, revoke")
	})
	t.Run("unknown flag", func(t *testing.T) {
		r := e.run("grants", "list", "--color")
		if r.code != exitUsage || !strings.Contains(r.stderr, "riscd grants: flag provided but not defined: -color") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	if got, err := e.db.Grant(t.Context(), g.ID); err != nil || got.Status != riscd.GrantActive {
		t.Errorf("after the refused revoke: grant %+v, %v; want it active", got.Status, err)
	}
}

func TestAdminConnectionSettings(t *testing.T) {
	e := newAdminEnv(t)
	e.grant("alice", []string{"openid"}, riscd.GrantActive, "")
	wrongFile := writeAdminTestFile(t, "wrong.token", "wrong-token-0123456789abcdef\n")
	config := func(listen, tokenFile string) string {
		return writeAdminTestFile(t, "riscd.yaml", fmt.Sprintf("internal:\n  listen: %q\n  admin_token_file: %q\n", listen, tokenFile))
	}
	_, port, _ := net.SplitHostPort(e.addr)

	t.Run("url and token from the config", func(t *testing.T) {
		r := e.runWith(nil, "grants", "list", "--config", config("0.0.0.0:"+port, e.tokenFile)).ok(t)
		if !strings.Contains(r.stdout, "alice") {
			t.Errorf("stdout %q does not list alice's grant", r.stdout)
		}
	})
	t.Run("token file flag beats the config", func(t *testing.T) {
		e.runWith(nil, "grants", "list", "--config", config(e.addr, wrongFile), "--admin-token-file", e.tokenFile).ok(t)
	})
	t.Run("environment beats the token file", func(t *testing.T) {
		e.runWith([]string{envAdminToken + "=" + adminTestToken}, "grants", "list", "--internal-url", e.url, "--admin-token-file", wrongFile).ok(t)
	})
	t.Run("environment overrides the config's listen", func(t *testing.T) {
		e.runWith([]string{"RISCD_INTERNAL_LISTEN=" + e.addr}, "grants", "list", "--config", config("127.0.0.1:1", e.tokenFile)).ok(t)
	})
	t.Run("wrong token in the environment", func(t *testing.T) {
		r := e.runWith([]string{envAdminToken + "=wrong-token-0123456789abcdef"}, "grants", "list", "--internal-url", e.url)
		r.fails(t, exitFailure, "refused the admin token from the environment variable "+envAdminToken, "the bearer token is not valid", "unset it")
		if strings.Contains(r.stderr, "wrong-token") {
			t.Errorf("stderr shows the token sent: %q", r.stderr)
		}
	})
	t.Run("wrong token in a file", func(t *testing.T) {
		r := e.runWith(nil, "grants", "list", "--internal-url", e.url, "--admin-token-file", wrongFile)
		r.fails(t, exitFailure, "refused the admin token from --admin-token-file "+wrongFile, "pass the running riscd's admin token")
		if strings.Contains(r.stderr, "wrong-token") {
			t.Errorf("stderr shows the token sent: %q", r.stderr)
		}
	})
	t.Run("wrong token in the config's file", func(t *testing.T) {
		cfg := config(e.addr, wrongFile)
		e.runWith(nil, "grants", "list", "--config", cfg).fails(t, exitFailure, wrongFile+" (internal.admin_token_file of "+cfg+")")
	})
	t.Run("no token", func(t *testing.T) {
		e.runWith(nil, "grants", "list", "--internal-url", e.url).fails(t, exitUsage, "no admin token", envAdminToken)
	})
	t.Run("missing token file", func(t *testing.T) {
		e.runWith(nil, "grants", "list", "--internal-url", e.url, "--admin-token-file", "/nonexistent/admin.token").
			fails(t, exitUsage, "/nonexistent/admin.token: no such file")
	})
	t.Run("empty token file", func(t *testing.T) {
		e.runWith(nil, "grants", "list", "--internal-url", e.url, "--admin-token-file", writeAdminTestFile(t, "empty", "\n\n")).
			fails(t, exitUsage, "empty file")
	})
	t.Run("bad config", func(t *testing.T) {
		bad := writeAdminTestFile(t, "bad.yaml", "internal:\n  listn: x\n")
		e.runWith(nil, "grants", "list", "--config", bad).fails(t, exitUsage, "internal.listn: unknown key")
	})
	t.Run("config listening on port 0", func(t *testing.T) {
		e.runWith(nil, "grants", "list", "--config", config("127.0.0.1:0", e.tokenFile)).
			fails(t, exitUsage, "internal.listen: 127.0.0.1:0 listens on a random port; pass --internal-url")
	})
	t.Run("bad url", func(t *testing.T) {
		e.runWith([]string{envAdminToken + "=" + adminTestToken}, "grants", "list", "--internal-url", "127.0.0.1:9090").
			fails(t, exitUsage, `--internal-url "127.0.0.1:9090": not an absolute http or https URL`)
	})
	t.Run("url with a password", func(t *testing.T) {
		r := e.runWith([]string{envAdminToken + "=" + adminTestToken}, "grants", "list", "--internal-url", "http://op:"+adminTestToken+"@"+e.addr)
		r.fails(t, exitUsage, "must not carry a user or password")
	})
}

func TestAdminUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e := &adminEnv{t: t}
	r := e.runWith([]string{envAdminToken + "=" + adminTestToken}, "events", "list", "--internal-url", "http://"+addr)
	r.fails(t, exitFailure, "cannot reach riscd's admin API at http://"+addr, "connection refused", "is riscd running", "--internal-url")
}

func TestAdminOtherAnswers(t *testing.T) {
	t.Run("not the admin API", func(t *testing.T) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "<html>riscd consent page</html>")
		}))
		defer hs.Close()
		e := &adminEnv{t: t}
		e.runWith([]string{envAdminToken + "=" + adminTestToken}, "grants", "list", "--internal-url", hs.URL).
			fails(t, exitFailure, hs.URL+" does not answer like riscd's admin API (HTTP 404", "text/html", "not the public one")
	})
	t.Run("no answer in time", func(t *testing.T) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // answers only when the client gives up
		}))
		defer hs.Close()
		e := &adminEnv{t: t}
		e.runWith([]string{envAdminToken + "=" + adminTestToken}, "events", "show", "1", "--internal-url", hs.URL, "--timeout", "50ms").
			fails(t, exitFailure, "no answer from riscd's admin API at "+hs.URL+" within 50ms (--timeout)")
	})
	t.Run("admin API off", func(t *testing.T) {
		e := newAdminEnv(t, func(c *admin.Config) { c.AdminToken = "" })
		e.run("grants", "list").fails(t, exitFailure, "the admin API of the riscd at "+e.url+" is off", "internal.admin_token_file")
	})
	t.Run("operator actions off", func(t *testing.T) {
		e := newAdminEnv(t, func(c *admin.Config) { c.Operator = nil })
		g := e.grant("alice", []string{"openid"}, riscd.GrantActive, "")
		e.run("grants", "revoke", g.ID, "--yes").fails(t, exitFailure, "operator actions are not available in this riscd (HTTP 501 not_implemented)")
	})
}

func TestInternalURLOf(t *testing.T) {
	tests := []struct {
		listen, want, wantErr string
	}{
		{"127.0.0.1:9090", "http://127.0.0.1:9090", ""},
		{"0.0.0.0:9090", "http://127.0.0.1:9090", ""},
		{":9090", "http://127.0.0.1:9090", ""},
		{"[::]:9090", "http://[::1]:9090", ""},
		{"[::1]:9090", "http://[::1]:9090", ""},
		{"riscd.internal:9090", "http://riscd.internal:9090", ""},
		{"127.0.0.1:0", "", "random port"},
		{"9090", "", "not host:port"},
	}
	for _, tc := range tests {
		t.Run(tc.listen, func(t *testing.T) {
			got, err := internalURLOf(tc.listen)
			if got != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %q, %v; want %q, %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
	if got, want := defaultInternalURL(), "http://"+config.Default().Internal.Listen; got != want {
		t.Errorf("defaultInternalURL() = %q, want %q", got, want)
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantYes bool
	}{
		{[]string{"ID", "--yes"}, []string{"ID"}, true},
		{[]string{"--yes", "ID"}, []string{"ID"}, true},
		{[]string{"ID"}, []string{"ID"}, false},
		{[]string{"--", "--yes"}, []string{"--yes"}, false},
		{[]string{"a", "--yes", "b"}, []string{"a", "b"}, true},
		{nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			yes := fs.Bool("yes", false, "")
			pos, err := parseInterspersed(fs, tc.args)
			if err != nil || !slices.Equal(pos, tc.wantPos) || *yes != tc.wantYes {
				t.Errorf("got %q, yes %v, %v; want %q, yes %v", pos, *yes, err, tc.wantPos, tc.wantYes)
			}
		})
	}
}

func TestAdminClientMaxLimitIsTheStores(t *testing.T) {
	if adminclient.MaxLimit != riscd.MaxLimit {
		t.Errorf("adminclient.MaxLimit = %d, store.MaxLimit = %d", adminclient.MaxLimit, riscd.MaxLimit)
	}
}
