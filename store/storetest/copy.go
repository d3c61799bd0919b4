package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
)

// Secrets of the filled store.
const (
	copyRT          = "1//0copy-refresh-token-abcdefghijklmnop"
	copyAT          = "ya29.copy-access-token"
	copyCSRF        = "copy-csrf-secret-value"
	copyPKCE        = "copy-pkce-verifier-0123456789"
	copyOutboxToken = "1//0copy-outbox-revoke-token"
	copyRaw         = "eyJhbGciOiJSUzI1NiJ9.copy-raw-set.sig"
)

// copyIDs are the bearer IDs of the filled store's sessions and flow.
var copyIDs = struct{ live, anon, expired, flow riscd.Secret }{
	"session-live-id", "session-anon-id", "session-expired-id", "flow-id",
}

// Fill writes records of every kind, in every status, into db, moving the
// clock between writes so that every time differs, and returns the
// secrets it wrote in plaintext: an engine's own test of a copy can look
// for them in the target's storage.
func Fill(tb testing.TB, db riscd.DB, clock *Clock) (secrets []string) {
	tb.Helper()
	ctx := tb.Context()
	ok := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	tick := func() { clock.Advance(time.Second + 7*time.Nanosecond) }
	now := clock.Now

	ok(db.PutAccount(ctx, riscd.Account{Sub: "sub-a", Email: "a@example.com"}))
	tick()
	ok(db.PutAccount(ctx, riscd.Account{Sub: "sub-b", Email: "b@example.com", Held: true, Flags: []string{"credential-change"},
		SessionsRevokedAt: now().Add(-time.Hour)}))
	tick()

	g1, err := db.CreateGrant(ctx, riscd.Grant{Sub: "sub-a", Email: "A@example.com", EmailVerified: true,
		Scopes: []string{"openid", "email"}, RefreshToken: copyRT, AccessToken: copyAT, TokenType: "Bearer",
		Expiry: now().Add(time.Hour), IDTokenExp: now().Add(2 * time.Hour)})
	ok(err)
	tick()
	g1.LastUsedAt, g1.RefreshedAt = now(), now().Add(-time.Minute)
	ok(db.PutGrant(ctx, g1)) // UpdatedAt now differs from CreatedAt
	tick()
	_, err = db.CreateGrant(ctx, riscd.Grant{Sub: "sub-b", Status: riscd.GrantHeld, Reason: "account held", ChangedBy: "jti-1",
		AccessToken: "ya29.held"})
	ok(err)
	tick()
	_, err = db.CreateGrant(ctx, riscd.Grant{Sub: "sub-b", Status: riscd.GrantRevoked, Reason: "token-revoked", ChangedBy: "operator",
		RefreshToken: "1//0short"})
	ok(err)
	tick()

	a1, err := db.AppendAudit(ctx, riscd.AuditEntry{Transmitter: "google", EventJTI: "jti-1", EventType: "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
		Sub: "sub-b", GrantIDs: []string{g1.ID}, Action: "hold", Outcome: "ok", Detail: "held 1 grant", Actor: "event"})
	ok(err)
	tick()
	_, err = db.AppendAudit(ctx, riscd.AuditEntry{Action: "rotate", Actor: "operator", DryRun: true})
	ok(err)
	tick()
	_, _, err = db.PutMark(ctx, riscd.Mark{Key: "event:google:jti-1", AuditID: a1.ID})
	ok(err)
	_, _, err = db.PutMark(ctx, riscd.Mark{Key: "other-work", At: now().Add(-time.Minute)})
	ok(err)
	tick()

	ok(db.CreateSession(ctx, riscd.Session{ID: copyIDs.live, Sub: "sub-a", Email: "a@example.com", CSRF: copyCSRF,
		ExpiresAt: now().Add(time.Hour)}))
	tick()
	ok(db.CreateSession(ctx, riscd.Session{ID: copyIDs.anon, CSRF: "anon-csrf"}))
	ok(db.CreateSession(ctx, riscd.Session{ID: copyIDs.expired, Sub: "sub-b", CSRF: "old-csrf", ExpiresAt: now().Add(time.Second)}))
	ok(db.CreateFlow(ctx, riscd.Flow{ID: copyIDs.flow, State: "state-value", PKCEVerifier: copyPKCE, Nonce: "nonce-value",
		Features: []string{"tokens"}, Scopes: []string{"openid"}, Sub: "sub-a", ConnectID: "connect-1"}))
	tick()
	ok(db.CreateConnectSession(ctx, riscd.ConnectSession{ID: "connect-1", AppUser: "u-1", Features: []string{"tokens"},
		ReturnTo: "https://app.example.com/after", LoginHint: "a@example.com", StartDigest: riscd.IDDigest("start"),
		StateDigest: riscd.IDDigest("state"), Status: riscd.ConnectConnected, Sub: "sub-a", Email: "a@example.com",
		GrantID: g1.ID, Scopes: []string{"openid"}, ExpiresAt: now().Add(time.Hour)}))
	// u-10 sorts between u-1 and u-2 as a string, whatever an engine's keys.
	for _, l := range []riscd.AppUserLink{{AppUser: "u-1", Sub: "sub-a"}, {AppUser: "u-2", Sub: "sub-b"}, {AppUser: "u-10", Sub: "sub-a"}} {
		_, _, err := db.LinkAppUser(ctx, l)
		ok(err)
		tick()
	}

	claims := json.RawMessage(`{"iss":"https://accounts.google.com/","jti":"jti-%d","events":{}}`)
	var ids []uint64
	for i := range 3 {
		e, _, err := db.PutInbox(ctx, riscd.InboxEntry{Transmitter: "google", Iss: "https://accounts.google.com/",
			JTI: fmt.Sprintf("jti-%d", i+1), Subject: "google|sub-b", Types: []string{"https://schemas.openid.net/secevent/risc/event-type/account-disabled"},
			Raw: copyRaw, Claims: json.RawMessage(fmt.Sprintf(string(claims), i+1))})
		ok(err)
		ids = append(ids, e.ID)
		tick()
	}
	_, err = db.UpdateInbox(ctx, ids[0], func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status, e.Attempts, e.DoneAt = riscd.InboxDone, 1, now()
		return e, nil
	})
	ok(err)
	_, err = db.UpdateInbox(ctx, ids[1], func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status, e.Attempts, e.LastError, e.NextAttemptAt = riscd.InboxParked, 5, "no grant", now().Add(time.Minute)
		return e, nil
	})
	ok(err)
	tick()

	j1, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Key: "sub-b", Token: copyOutboxToken, GrantID: g1.ID,
		Deadline: now().Add(24 * time.Hour)})
	ok(err)
	j2, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "sub-b", Payload: json.RawMessage(`{"event":"held"}`),
		Deadline: now().Add(time.Hour)})
	ok(err)
	_, err = db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "sub-a", Payload: json.RawMessage(`{"n":1}`)})
	ok(err)
	tick()
	_, err = db.UpdateOutbox(ctx, j2.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Status, j.Attempts, j.LastError, j.DoneAt = riscd.OutboxFailed, 9, "503", now()
		return j, nil
	})
	ok(err)
	_, err = db.UpdateOutbox(ctx, j1.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Attempts, j.NextAttemptAt = 2, now().Add(time.Minute)
		return j, nil
	})
	ok(err)
	tick()
	tick() // the session copyIDs.expired has expired
	return []string{copyRT, copyAT, copyCSRF, copyPKCE, copyOutboxToken, copyRaw}
}

// ExportAll returns every record db exports.
func ExportAll(tb testing.TB, db riscd.Store) []riscd.Record {
	tb.Helper()
	var out []riscd.Record
	if err := db.Export(tb.Context(), func(r riscd.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		tb.Fatalf("Export: %v", err)
	}
	return out
}

// kindCounts counts records by kind.
func kindCounts(rs []riscd.Record) map[string]int {
	n := map[string]int{}
	for _, r := range rs {
		switch {
		case r.Grant != nil:
			n["grant"]++
		case r.Account != nil:
			n["account"]++
		case r.Session != nil:
			n["session"]++
		case r.Flow != nil:
			n["flow"]++
		case r.Inbox != nil:
			n["inbox"]++
		case r.Outbox != nil:
			n["outbox"]++
		case r.Audit != nil:
			n["audit"]++
		case r.Mark != nil:
			n["mark"]++
		case r.Connect != nil:
			n["connect"]++
		case r.Link != nil:
			n["link"]++
		}
	}
	return n
}

// copyTest fills src, copies it into the case's store (empty, on the same
// clock) and checks that every read gives the same answer on both, that
// the source is unchanged, and that the target's sequences continue after
// the copied IDs, even on a clock behind the copied records'. Its verify
// finds the target as the case left it.
func copyTest(e *env, src riscd.DB) func(*env) {
	t, ctx, dst := e.t, e.ctx, e.db
	t.Helper()
	Fill(t, src, e.clock)
	before := ExportAll(t, src)
	want := map[string]int{"grant": 3, "account": 2, "session": 3, "flow": 1, "inbox": 3, "outbox": 3, "audit": 2, "mark": 2, "connect": 1, "link": 3}
	if got := kindCounts(before); !reflect.DeepEqual(got, want) {
		t.Fatalf("export of the filled store: %v records, want %v", got, want)
	}
	for _, r := range before {
		if r.Session != nil && (!r.Session.ID.IsZero() || len(r.IDDigest) == 0) ||
			r.Flow != nil && (!r.Flow.ID.IsZero() || len(r.IDDigest) == 0) {
			t.Errorf("an exported session or flow has an ID or lacks its digest")
		}
	}

	if err := dst.Import(ctx, src.Export); err != nil {
		t.Fatalf("Import: %v", err)
	}
	if after := ExportAll(t, src); !reflect.DeepEqual(after, before) {
		t.Errorf("the source changed while it was exported")
	}
	if got := ExportAll(t, dst); !reflect.DeepEqual(got, before) {
		t.Errorf("the target exports other records than the source:\n got %+v\nwant %+v", got, before)
	}
	for name, db := range map[string]riscd.DB{"source": src, "target": dst} {
		if err := db.Check(ctx); err != nil {
			t.Errorf("Check of the %s: %v", name, err)
		}
	}
	sc, err := src.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if dc, err := dst.Count(ctx); err != nil || dc != sc {
		t.Errorf("Count: target %+v (%v), source %+v", dc, err, sc)
	}

	// Every read answers the same on both stores.
	agree := func(what string, read func(db riscd.DB) (any, error)) {
		t.Helper()
		s, serr := read(src)
		d, derr := read(dst)
		if serr != nil || derr != nil || !reflect.DeepEqual(s, d) {
			t.Errorf("%s: target %+v (%v), source %+v (%v)", what, d, derr, s, serr)
		}
	}
	var grantIDs []string
	for _, r := range before {
		if r.Grant != nil {
			grantIDs = append(grantIDs, r.Grant.ID)
			agree("Grant "+r.Grant.ID, func(db riscd.DB) (any, error) { return db.Grant(ctx, r.Grant.ID) })
		}
		if r.Inbox != nil {
			agree("InboxEntry", func(db riscd.DB) (any, error) { return db.InboxEntry(ctx, r.Inbox.ID) })
			agree("InboxByJTI", func(db riscd.DB) (any, error) { return db.InboxByJTI(ctx, r.Inbox.Iss, r.Inbox.JTI) })
		}
		if r.Outbox != nil {
			agree("OutboxJob", func(db riscd.DB) (any, error) { return db.OutboxJob(ctx, r.Outbox.ID) })
		}
		if r.Mark != nil {
			agree("Mark", func(db riscd.DB) (any, error) { return db.Mark(ctx, r.Mark.Key) })
		}
		if r.Account != nil {
			agree("Account", func(db riscd.DB) (any, error) { return db.Account(ctx, r.Account.Sub) })
		}
	}
	for _, sub := range []string{"sub-a", "sub-b"} {
		agree("GrantsBySub "+sub, func(db riscd.DB) (any, error) { return db.GrantsBySub(ctx, sub) })
		agree("ListAudit "+sub, func(db riscd.DB) (any, error) {
			es, next, err := db.ListAudit(ctx, riscd.AuditQuery{Sub: sub})
			return fmt.Sprint(len(es), next, es), err
		})
	}
	agree("GrantByRefreshDigest", func(db riscd.DB) (any, error) {
		return db.GrantByRefreshDigest(ctx, riscd.RefreshTokenDigest(copyRT))
	})
	agree("GrantsByRefreshPrefix", func(db riscd.DB) (any, error) {
		return db.GrantsByRefreshPrefix(ctx, copyRT[:riscd.RefreshPrefixLen])
	})
	agree("GrantsByVerifiedEmail", func(db riscd.DB) (any, error) { return db.GrantsByVerifiedEmail(ctx, "a@example.com") })
	agree("CountGrants", func(db riscd.DB) (any, error) { return db.CountGrants(ctx) })
	for _, st := range []riscd.GrantStatus{"", riscd.GrantActive, riscd.GrantHeld, riscd.GrantRevoked} {
		agree("ListGrants "+string(st), func(db riscd.DB) (any, error) {
			gs, next, err := db.ListGrants(ctx, riscd.GrantQuery{Status: st})
			return pairOf(gs, next), err
		})
	}
	agree("AccountsNeedingAttention", func(db riscd.DB) (any, error) { return db.AccountsNeedingAttention(ctx, "", 0) })
	agree("ListAudit", func(db riscd.DB) (any, error) {
		es, next, err := db.ListAudit(ctx, riscd.AuditQuery{})
		return pairOf(es, next), err
	})
	for _, q := range []riscd.InboxQuery{{}, {Status: riscd.InboxPending}, {Status: riscd.InboxDone}, {Status: riscd.InboxParked},
		{Subject: "google|sub-b"}, {Type: "https://schemas.openid.net/secevent/risc/event-type/account-disabled"}} {
		agree(fmt.Sprintf("ListInbox %+v", q), func(db riscd.DB) (any, error) {
			es, next, err := db.ListInbox(ctx, q)
			return pairOf(es, next), err
		})
	}
	for _, st := range []riscd.InboxStatus{riscd.InboxPending, riscd.InboxDone, riscd.InboxParked} {
		agree("CountInbox "+string(st), func(db riscd.DB) (any, error) { return db.CountInbox(ctx, st) })
	}
	agree("PendingInbox", func(db riscd.DB) (any, error) { return db.PendingInbox(ctx, 0) })
	agree("PendingOutbox", func(db riscd.DB) (any, error) { return db.PendingOutbox(ctx, 0) })
	agree("FailedOutbox", func(db riscd.DB) (any, error) { return db.FailedOutbox(ctx, 0) })
	agree("Session", func(db riscd.DB) (any, error) { return db.Session(ctx, copyIDs.live) })
	agree("Session without a subject", func(db riscd.DB) (any, error) { return db.Session(ctx, copyIDs.anon) })
	if _, err := dst.Session(ctx, copyIDs.expired); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("the expired session on the target: %v, want ErrNotFound", err)
	}
	if s, err := dst.Session(ctx, copyIDs.live); err != nil || s.CSRF != copyCSRF || s.ID != copyIDs.live {
		t.Errorf("Session on the target: CSRF kept %v, ID kept %v, %v", s.CSRF == copyCSRF, s.ID == copyIDs.live, err)
	}
	agree("TakeFlow", func(db riscd.DB) (any, error) { return db.TakeFlow(ctx, copyIDs.flow) })
	agree("ConnectSession", func(db riscd.DB) (any, error) { return db.ConnectSession(ctx, "connect-1") })
	for _, u := range []string{"u-1", "u-10", "u-2"} {
		agree("LinksOfAppUser "+u, func(db riscd.DB) (any, error) { return db.LinksOfAppUser(ctx, u) })
	}
	for _, sub := range []string{"sub-a", "sub-b"} {
		agree("LinksOfSub "+sub, func(db riscd.DB) (any, error) { return db.LinksOfSub(ctx, sub) })
	}

	// Sessions deleted by subject on the target: its index by subject was
	// built.
	if n, err := dst.DeleteSessionsOf(ctx, "sub-a", time.Time{}); err != nil || n != 1 {
		t.Errorf("DeleteSessionsOf on the target: %d, %v; want 1", n, err)
	}

	// New records on the target take IDs after the copied ones, even on a
	// clock behind the copied records'.
	e.clock.Set(e.clock.Now().Add(-time.Hour))
	var maxInbox, maxOutbox, maxAudit uint64
	for _, r := range before {
		switch {
		case r.Inbox != nil:
			maxInbox = max(maxInbox, r.Inbox.ID)
		case r.Outbox != nil:
			maxOutbox = max(maxOutbox, r.Outbox.ID)
		case r.Audit != nil:
			maxAudit = max(maxAudit, r.Audit.ID)
		}
	}
	x, fresh, err := dst.PutInbox(ctx, riscd.InboxEntry{Iss: "https://accounts.google.com/", JTI: "jti-new"})
	if err != nil || !fresh || x.ID <= maxInbox {
		t.Errorf("PutInbox after import: ID %d (new %v), %v; want above %d", x.ID, fresh, err, maxInbox)
	}
	if _, fresh, err := dst.PutInbox(ctx, riscd.InboxEntry{Iss: "https://accounts.google.com/", JTI: "jti-1"}); err != nil || fresh {
		t.Errorf("PutInbox of a copied (iss, jti): new %v, %v; want the copy found", fresh, err)
	}
	j, err := dst.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook})
	if err != nil || j.ID <= maxOutbox {
		t.Errorf("EnqueueOutbox after import: ID %d, %v; want above %d", j.ID, err, maxOutbox)
	}
	a, err := dst.AppendAudit(ctx, riscd.AuditEntry{Action: "after"})
	if err != nil || a.ID <= maxAudit {
		t.Errorf("AppendAudit after import: ID %d, %v; want above %d", a.ID, err, maxAudit)
	}
	g, err := dst.CreateGrant(ctx, riscd.Grant{Sub: "sub-c"})
	if err != nil || g.ID <= slices.Max(grantIDs) {
		t.Errorf("CreateGrant after import: ID %s, %v; want after %s", g.ID, err, slices.Max(grantIDs))
	}
	if _, err := dst.CreateGrant(ctx, riscd.Grant{Sub: "sub-c", RefreshToken: copyRT}); !errors.Is(err, riscd.ErrExists) {
		t.Errorf("CreateGrant with a copied refresh token: %v, want ErrExists", err)
	}
	gs, _, err := dst.ListGrants(ctx, riscd.GrantQuery{})
	if err != nil || len(gs) == 0 || gs[0].ID != g.ID {
		t.Errorf("ListGrants after import: the new grant does not come first (%v)", err)
	}
	if err := dst.Check(ctx); err != nil {
		t.Errorf("Check after new writes: %v", err)
	}
	after := ExportAll(t, dst)
	return func(e *env) {
		if got := ExportAll(e.t, e.db); !reflect.DeepEqual(got, after) {
			e.t.Errorf("the target exports other records than it held:\n got %+v\nwant %+v", got, after)
		}
		if _, err := e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(copyRT)); err != nil {
			e.t.Errorf("GrantByRefreshDigest of a copied grant: %v", err)
		}
		if s, err := e.db.Session(e.ctx, copyIDs.anon); err != nil || s.CSRF != "anon-csrf" {
			e.t.Errorf("Session of a copied ID: %v", err)
		}
	}
}

// pairOf holds a page and its cursor for comparison.
func pairOf[T any](items []T, next string) any {
	return struct {
		Items []T
		Next  string
	}{items, next}
}

// seed is a store holding a record of one kind only.
type seed struct {
	name  string
	write func(ctx context.Context, db riscd.DB) error
}

func seedCases() []seed {
	return []seed{
		{"an account", func(ctx context.Context, db riscd.DB) error { return db.PutAccount(ctx, riscd.Account{Sub: "x"}) }},
		{"a mark", func(ctx context.Context, db riscd.DB) error {
			_, _, err := db.PutMark(ctx, riscd.Mark{Key: "k"})
			return err
		}},
		{"a flow", func(ctx context.Context, db riscd.DB) error {
			return db.CreateFlow(ctx, riscd.Flow{ID: "f"})
		}},
		{"a connect session", func(ctx context.Context, db riscd.DB) error {
			return db.CreateConnectSession(ctx, riscd.ConnectSession{ID: "c", AppUser: "u", Status: riscd.ConnectPending, ExpiresAt: time.Now()})
		}},
		{"an app-user link", func(ctx context.Context, db riscd.DB) error {
			_, _, err := db.LinkAppUser(ctx, riscd.AppUserLink{AppUser: "u", Sub: "s"})
			return err
		}},
		{"an inbox entry", func(ctx context.Context, db riscd.DB) error {
			_, _, err := db.Inbox().PutInbox(ctx, riscd.InboxEntry{Iss: "i", JTI: "j"})
			return err
		}},
	}
}

// importRefusedTest: Import into a store holding one record fails with
// ErrExists and writes nothing.
func importRefusedTest(e *env, src riscd.DB, seed func(ctx context.Context, db riscd.DB) error) func(*env) {
	t, ctx, dst := e.t, e.ctx, e.db
	must(src.CreateGrant(ctx, riscd.Grant{Sub: "sub-a", RefreshToken: copyRT}))(t)
	noErr(t, src.PutAccount(ctx, riscd.Account{Sub: "sub-a"}))
	noErr(t, seed(ctx, dst))
	before := ExportAll(t, dst)
	wantErr(t, "Import into a store that is not empty", dst.Import(ctx, src.Export), riscd.ErrExists)
	// Nothing read from the source either: an empty source is refused too.
	wantErr(t, "Import of nothing into a store that is not empty",
		dst.Import(ctx, func(context.Context, func(riscd.Record) error) error { return nil }), riscd.ErrExists)
	return func(e *env) {
		if got := ExportAll(e.t, e.db); !reflect.DeepEqual(got, before) {
			e.t.Errorf("the refused import wrote: %v records, before %v", kindCounts(got), kindCounts(before))
		}
		_, err := e.db.GrantByRefreshDigest(e.ctx, riscd.RefreshTokenDigest(copyRT))
		wantErr(e.t, "a grant of the refused import", err, riscd.ErrNotFound)
	}
}

// importInvalidTest: records Import cannot keep are refused, naming why.
func importInvalidTest(e *env) {
	t, ctx, dst := e.t, e.ctx, e.db
	id := "0123456789abcdef01234567"
	for _, c := range []struct {
		name string
		rs   []riscd.Record
		want error
	}{
		{"no kind", []riscd.Record{{}}, riscd.ErrInvalid},
		{"two kinds", []riscd.Record{{Account: &riscd.Account{Sub: "a"}, Mark: &riscd.Mark{Key: "k"}}}, riscd.ErrInvalid},
		{"grant without an id", []riscd.Record{{Grant: &riscd.Grant{Sub: "a", Status: riscd.GrantActive}}}, riscd.ErrInvalid},
		{"session without an id", []riscd.Record{{Session: &riscd.Session{Sub: "a"}}}, riscd.ErrInvalid},
		{"inbox entry without an id", []riscd.Record{{Inbox: &riscd.InboxEntry{Iss: "i", JTI: "j", Status: riscd.InboxPending}}}, riscd.ErrInvalid},
		{"grant twice", []riscd.Record{
			{Grant: &riscd.Grant{ID: id, Sub: "a", Status: riscd.GrantActive}},
			{Grant: &riscd.Grant{ID: id, Sub: "b", Status: riscd.GrantActive}},
		}, riscd.ErrExists},
		{"refresh token twice", []riscd.Record{
			{Grant: &riscd.Grant{ID: id, Sub: "a", Status: riscd.GrantActive, RefreshToken: "rt"}},
			{Grant: &riscd.Grant{ID: "1" + id[1:], Sub: "b", Status: riscd.GrantActive, RefreshToken: "rt"}},
		}, riscd.ErrExists},
		{"(iss, jti) twice", []riscd.Record{
			{Inbox: &riscd.InboxEntry{ID: 1, Iss: "i", JTI: "j", Status: riscd.InboxPending}},
			{Inbox: &riscd.InboxEntry{ID: 2, Iss: "i", JTI: "j", Status: riscd.InboxDone}},
		}, riscd.ErrExists},
	} {
		err := dst.Import(ctx, func(ctx context.Context, fn func(riscd.Record) error) error {
			for _, r := range c.rs {
				if err := fn(r); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Import: %v, want %v", c.name, err, c.want)
		}
		if rs := ExportAll(t, dst); len(rs) != 0 {
			t.Errorf("%s: the failed import left %v", c.name, kindCounts(rs))
		}
	}
}

// copyCases pin Export and Import (riscd.Exporter, riscd.Importer): each
// copies into the case's store from a second new store of the engine.
func copyCases() []tcase {
	cases := []tcase{
		{"a copy reads back alike and continues the sequences", func(e *env) func(*env) {
			return copyTest(e, e.another())
		}},
		{"import refuses records it cannot keep", func(e *env) func(*env) {
			importInvalidTest(e)
			return func(e *env) {
				if rs := ExportAll(e.t, e.db); len(rs) != 0 {
					e.t.Fatalf("the failed imports left %v", kindCounts(rs))
				}
			}
		}},
		{"import fails with its source's error", func(e *env) func(*env) {
			boom := errors.New("source failed")
			err := e.db.Import(e.ctx, func(context.Context, func(riscd.Record) error) error { return boom })
			wantErr(e.t, "Import from a failing source", err, boom)
			return func(e *env) {
				if rs := ExportAll(e.t, e.db); len(rs) != 0 {
					e.t.Fatalf("the failed import left %v", kindCounts(rs))
				}
			}
		}},
	}
	for _, sd := range seedCases() {
		cases = append(cases, tcase{"import into a store holding " + sd.name + " is refused", func(e *env) func(*env) {
			return importRefusedTest(e, e.another(), sd.write)
		}})
	}
	return cases
}
