package lifecycle_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/lifecycle"
)

// startedConnect stores a connect session for appUser and starts it as
// flowweb does, returning its id.
func (w *world) startedConnect(id, appUser string) string {
	w.t.Helper()
	now := w.clock.Now()
	if err := w.db.CreateConnectSession(w.ctx, riscd.ConnectSession{ID: id, AppUser: appUser, ReturnTo: "https://app.example.com/after",
		StartDigest: riscd.IDDigest("token-" + riscd.Secret(id)), Status: riscd.ConnectPending,
		CreatedAt: now, ExpiresAt: now.Add(riscd.ConnectSessionTTL)}); err != nil {
		w.t.Fatal(err)
	}
	s, problem, err := w.lc.StartConnect(w.ctx, id, riscd.Secret("token-"+id), riscd.Flow{ID: riscd.Secret("flow-" + id), State: "state-" + riscd.Secret(id)})
	if err != nil || problem != "" || s.Status != riscd.ConnectStarted {
		w.t.Fatalf("StartConnect: %+v %q %v", s, problem, err)
	}
	return id
}

func connectConsentOf(sub string, seed uint64) riscd.Grant {
	return riscd.Grant{Sub: sub, Email: sub + "@example.com", EmailVerified: true, Scopes: []string{"email", "openid"},
		RefreshToken: riscd.Secret(refreshToken(seed)), AccessToken: "ya29.connect", TokenType: "Bearer"}
}

// TestConnectConsent: a connect session's consent saves the grant, links
// the app user, ends the session connected and sends grant.connected
// naming every app user linked to the account.
func TestConnectConsent(t *testing.T) {
	w := newWorld(t, nil)
	id := w.startedConnect("c1", "u-1")
	flow, err := w.db.TakeFlow(w.ctx, "flow-c1")
	if err != nil || flow.ConnectID != "c1" {
		t.Fatalf("the started session's flow: %+v, %v; want it to name the session", flow, err)
	}
	s, err := w.lc.ConnectConsent(w.ctx, id, connectConsentOf("alice", 1))
	if err != nil {
		t.Fatal(err)
	}
	gs, _ := w.db.GrantsBySub(w.ctx, "alice")
	if len(gs) != 1 || s.Status != riscd.ConnectConnected || s.Sub != "alice" || s.GrantID != gs[0].ID ||
		!slices.Equal(s.Scopes, []string{"email", "openid"}) || s.Email != "alice@example.com" {
		t.Fatalf("session %+v with grants %+v, want connected to alice's one grant", s, gs)
	}
	if _, err := w.lc.ConnectConsent(w.ctx, id, connectConsentOf("alice", 2)); !errors.Is(err, lifecycle.ErrConnectEnded) {
		t.Errorf("a second consent of the session: %v, want ErrConnectEnded", err)
	}
	w.clock.Advance(time.Second)
	if _, err := w.lc.ConnectConsent(w.ctx, w.startedConnect("c2", "u-2"), connectConsentOf("alice", 3)); err != nil {
		t.Fatal(err)
	}
	stop := w.runOutbox()
	// (The second consent's new refresh token also queued the old one's
	// revocation, at an address that refuses it: it waits for a retry.)
	waitFor(t, "two webhooks", func() bool { return len(w.hooks.delivered()) == 2 })
	stop()
	hooks := w.hooks.delivered()
	for i, want := range []lifecycle.WebhookPayload{
		{Type: "grant.connected", Sub: "alice", GrantIDs: []string{gs[0].ID}, Action: "connect", AppUsers: []string{"u-1"}, AppUser: "u-1", ConnectID: "c1"},
		{Type: "grant.connected", Sub: "alice", GrantIDs: []string{gs[0].ID}, Action: "connect", AppUsers: []string{"u-1", "u-2"}, AppUser: "u-2", ConnectID: "c2"},
	} {
		got := mustJSON(t, hooks[i].body)
		got.At = time.Time{}
		if got.Type != want.Type || got.Sub != want.Sub || !slices.Equal(got.GrantIDs, want.GrantIDs) || got.Action != want.Action ||
			!slices.Equal(got.AppUsers, want.AppUsers) || got.AppUser != want.AppUser || got.ConnectID != want.ConnectID {
			t.Errorf("webhook %d: %+v\nwant %+v", i, got, want)
		}
	}
	var connects int
	for _, e := range w.audit() {
		if e.Action == "connect" && e.Sub == "alice" {
			connects++
		}
	}
	if connects != 2 {
		t.Errorf("%d connect audit entries, want 2", connects)
	}
}

// TestEventWebhookNamesAppUsers: every event webhook carries the app
// users linked to its subject ([] when none).
func TestEventWebhookNamesAppUsers(t *testing.T) {
	w := newWorld(t, func(c *lifecycle.Config) {
		c.Actions = map[string][]string{"account-disabled/hijacking": {"end_sessions", "notify"}}
	})
	w.grant("alice", refreshToken(1))
	w.grant("bob", refreshToken(2))
	for _, u := range []string{"u-2", "u-1"} {
		if _, _, err := w.db.LinkAppUser(w.ctx, riscd.AppUserLink{AppUser: u, Sub: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	w.deliver(googleSET(t, "jti-alice", events.TypeAccountDisabled, issSub("alice"), `"reason": "hijacking"`))
	w.deliver(googleSET(t, "jti-bob", events.TypeAccountDisabled, issSub("bob"), `"reason": "hijacking"`))
	stop := w.runOutbox()
	waitFor(t, "two webhooks", func() bool { return len(w.hooks.delivered()) == 2 })
	stop()
	got := map[string][]string{}
	for _, h := range w.hooks.delivered() {
		p := mustJSON(t, h.body)
		if p.AppUsers == nil {
			t.Errorf("webhook of %s: app_users is null, want a list", p.Sub)
		}
		got[p.Sub] = p.AppUsers
	}
	if !slices.Equal(got["alice"], []string{"u-1", "u-2"}) || got["bob"] == nil || len(got["bob"]) != 0 {
		t.Errorf("app_users %v, want alice's u-1 and u-2, bob's []", got)
	}
}

// TestStartConnectRefusals: a wrong token changes nothing; a second start
// or a start after expiry ends the session with status error; an ended
// session keeps its result.
func TestStartConnectRefusals(t *testing.T) {
	w := newWorld(t, nil)
	id := w.startedConnect("c1", "u-1")
	for _, c := range []struct {
		token, want string
		status      riscd.ConnectStatus
	}{
		{"wrong", lifecycle.ConnectBadToken, riscd.ConnectStarted},
		{"token-c1", lifecycle.ConnectReused, riscd.ConnectError},
		{"token-c1", lifecycle.ConnectReused, riscd.ConnectError},
	} {
		s, problem, err := w.lc.StartConnect(w.ctx, id, riscd.Secret(c.token), riscd.Flow{ID: "another-flow", State: "s"})
		if err != nil || problem != c.want || s.Status != c.status {
			t.Errorf("StartConnect with %s: %s %q %v, want %s %q", c.token, s.Status, problem, err, c.status, c.want)
		}
	}
	if _, err := w.db.TakeFlow(w.ctx, "another-flow"); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("a refused start stored its flow: %v", err)
	}
	if s, _ := w.db.ConnectSession(w.ctx, id); s.Error != lifecycle.ConnectReused {
		t.Errorf("session error %q, want %s", s.Error, lifecycle.ConnectReused)
	}
	if _, err := w.lc.ConnectConsent(w.ctx, id, connectConsentOf("alice", 1)); !errors.Is(err, lifecycle.ErrConnectEnded) {
		t.Errorf("the consent of an ended session: %v, want ErrConnectEnded", err)
	}
	if gs, _ := w.db.GrantsBySub(w.ctx, "alice"); len(gs) != 0 {
		t.Errorf("the refused consent stored %d grants", len(gs))
	}

	now := w.clock.Now()
	if err := w.db.CreateConnectSession(w.ctx, riscd.ConnectSession{ID: "late", AppUser: "u", Status: riscd.ConnectPending,
		StartDigest: riscd.IDDigest("t"), ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Minute)
	if s, problem, err := w.lc.StartConnect(w.ctx, "late", "t", riscd.Flow{ID: "f", State: "s"}); err != nil || problem != lifecycle.ConnectExpired || s.Status != riscd.ConnectError {
		t.Errorf("StartConnect after expiry: %s %q %v, want error %s", s.Status, problem, err, lifecycle.ConnectExpired)
	}
	if _, _, err := w.lc.StartConnect(w.ctx, "unknown", "t", riscd.Flow{ID: "f", State: "s"}); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("StartConnect of an unknown session: %v, want ErrNotFound", err)
	}

	// EndConnect keeps a final result.
	ok := w.startedConnect("ok", "u-1")
	if _, err := w.lc.ConnectConsent(w.ctx, ok, connectConsentOf("alice", 2)); err != nil {
		t.Fatal(err)
	}
	if s, err := w.lc.EndConnect(w.ctx, ok, riscd.ConnectError, "other_browser"); err != nil || s.Status != riscd.ConnectConnected {
		t.Errorf("EndConnect of a connected session: %s, %v; want it kept connected", s.Status, err)
	}
	if _, err := w.lc.EndConnect(w.ctx, ok, riscd.ConnectConnected, ""); !errors.Is(err, riscd.ErrInvalid) {
		t.Errorf("EndConnect with status connected: %v, want ErrInvalid", err)
	}
}

// TestUnlinkAppUser: unlinking keeps the grant; with revoke, the account's
// grant is discarded and its token queued for revocation.
func TestUnlinkAppUser(t *testing.T) {
	w := newWorld(t, nil)
	g := w.grant("alice", refreshToken(1))
	for _, u := range []string{"u-1", "u-2"} {
		if _, _, err := w.db.LinkAppUser(w.ctx, riscd.AppUserLink{AppUser: u, Sub: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.lc.UnlinkAppUser(w.ctx, "u-1", "alice", false); err != nil {
		t.Fatal(err)
	}
	if got := w.getGrant(g.ID); got.Status != riscd.GrantActive {
		t.Errorf("after an unlink the grant is %s, want active", got.Status)
	}
	if err := w.lc.UnlinkAppUser(w.ctx, "u-1", "alice", true); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("a second unlink: %v, want ErrNotFound", err)
	}
	if err := w.lc.UnlinkAppUser(w.ctx, "u-2", "alice", true); err != nil {
		t.Fatal(err)
	}
	if got := w.getGrant(g.ID); got.Status != riscd.GrantRevoked || got.RefreshToken != "" {
		t.Errorf("after an unlink with revoke the grant is %s (token kept %v), want revoked", got.Status, got.RefreshToken != "")
	}
	var revokes int
	for _, j := range w.outbox() {
		if j.Kind == riscd.OutboxRevoke && j.GrantID == g.ID {
			revokes++
		}
	}
	if revokes != 1 {
		t.Errorf("%d revocations queued, want 1", revokes)
	}
	if links, _ := w.db.LinksOfSub(w.ctx, "alice"); len(links) != 0 {
		t.Errorf("links left: %+v", links)
	}
}
