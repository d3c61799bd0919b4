package admin_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/admin/admintest"
	"github.com/riscd/riscd/events"
)

// TestNoTokenInAnyAnswer fills the store with grants, events naming their
// tokens, and outbox jobs carrying them, then calls every GET route of the
// OpenAPI document: no answer may carry a token, a token identifier, the
// raw SET or a bearer token of the listener (newEnv's check, run when the
// test ends, greps every answer and the log for each).
func TestNoTokenInAnyAnswer(t *testing.T) {
	e := admintest.New(t, nil)
	e.MustAccount(admintest.AccountOf("alice"))
	g := e.MustGrant(admintest.GrantSpec{Sub: "alice", Scopes: []string{"openid", admintest.Features["drive"]}})
	refresh := g.RefreshToken.Reveal()
	e.Secret(refresh[:16])
	hashID := e.Secret(admintest.URLHashIdentifier(refresh))
	ev := e.MustInbox(admintest.TokenRevokedEvent("j1", events.AlgHashSHA512SHA512, hashID))
	e.MustInbox(admintest.DisabledEvent("j2", "alice", "hijacking"))
	if _, err := e.DB.EnqueueOutbox(t.Context(), riscd.OutboxJob{Kind: riscd.OutboxRevoke, Key: "alice", Token: g.RefreshToken, GrantID: g.ID}); err != nil {
		t.Fatal(err)
	}
	failed, err := e.DB.EnqueueOutbox(t.Context(), riscd.OutboxJob{Kind: riscd.OutboxRevoke, Key: "alice", Token: g.RefreshToken, GrantID: g.ID, Status: riscd.OutboxFailed, LastError: "revoke: HTTP 400"})
	if err != nil {
		t.Fatal(err)
	}
	e.MustAudit(riscd.AuditEntry{Sub: "alice", GrantIDs: []string{g.ID}, Action: "hold_grants"})
	if err := e.Srv.CountGrants(t.Context()); err != nil {
		t.Fatal(err)
	}

	// A connect session under the grant's id (the routes' {id}), whose
	// start token no answer may show.
	start := e.Secret("connect-start-token-0123456789abcdef")
	if err := e.DB.CreateConnectSession(t.Context(), riscd.ConnectSession{ID: g.ID, AppUser: "u-1", ReturnTo: admintest.ReturnURL,
		StartDigest: riscd.IDDigest(riscd.Secret(start)), Status: riscd.ConnectConnected, Sub: "alice", GrantID: g.ID,
		Scopes: g.Scopes, ExpiresAt: admintest.T0.Add(riscd.ConnectSessionTTL)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.DB.LinkAppUser(t.Context(), riscd.AppUserLink{AppUser: "u-1", Sub: "alice"}); err != nil {
		t.Fatal(err)
	}

	routes, _ := docRoutes(t)
	fill := strings.NewReplacer("{id}", g.ID, "{sub}", "alice", "{app_user}", "u-1")
	called := 0
	for _, r := range routes {
		if r.method != http.MethodGet {
			continue
		}
		path := fill.Replace(r.path)
		if strings.HasPrefix(r.path, "/admin/events/") {
			path = strings.Replace(r.path, "{id}", strconv.FormatUint(ev.ID, 10), 1)
		}
		t.Run(path, func(t *testing.T) {
			resp := e.Do(http.MethodGet, path, admintest.AdminToken, nil)
			if resp.Status != http.StatusOK {
				t.Errorf("status %d, want 200: %s", resp.Status, resp.Body)
			}
		})
		called++
	}
	if called < 10 {
		t.Errorf("called %d GET routes, want every one of them (at least 10)", called)
	}
	for _, q := range []string{"/admin/grants?sub=alice", "/admin/events?sub=alice", "/admin/audit?sub=alice", "/v1/subjects/alice", "/admin/outbox?status=failed"} {
		e.Get(q, http.StatusOK)
	}
	// The POST answers too.
	if r := e.Do(http.MethodPost, "/admin/outbox/"+strconv.FormatUint(failed.ID, 10)+"/retry", admintest.AdminToken, nil); r.Status != http.StatusOK {
		t.Errorf("retry outbox job: status %d", r.Status)
	}
	if r := e.Do(http.MethodPost, "/admin/accounts/alice/release", admintest.AdminToken, nil); r.Status != http.StatusOK {
		t.Errorf("release: status %d", r.Status)
	}
	if r := e.Do(http.MethodDelete, "/admin/grants/"+g.ID, admintest.AdminToken, nil); r.Status != http.StatusAccepted {
		t.Errorf("revoke: status %d", r.Status)
	}
}
