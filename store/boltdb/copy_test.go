package boltdb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

// The tests of Export and Import below the bbolt-specific ones are written
// against riscd.DB only (copyTest, importRefusedTest, importInvalidTest):
// they belong in the engine-neutral suite, store/storetest, and move there
// as they are, run for every engine and between engines.

// copyStart is the clocks' reading: nanosecond precision, so a copy that
// truncates times fails.
var copyStart = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// openCopyPair opens two fresh stores, each under a key of its own, on one
// clock.
func openCopyPair(t *testing.T) (src, dst *boltdb.DB, clock *testkit.Clock, dstPath string) {
	t.Helper()
	clock = testkit.NewClock(copyStart)
	dir := t.TempDir()
	dstPath = filepath.Join(dir, "dst.db")
	src = mustOpen(t, boltdb.Options{Path: filepath.Join(dir, "src.db"), Key: mustKey(t), Now: clock.Now, Logger: testLogger(t)})
	dst = mustOpen(t, boltdb.Options{Path: dstPath, Key: mustKey(t), Now: clock.Now, Logger: testLogger(t)})
	return src, dst, clock, dstPath
}

func TestCopyBolt(t *testing.T) {
	src, dst, clock, dstPath := openCopyPair(t)
	copyTest(t, src, dst, clock)

	// Every secret was sealed again under the target's key: the file holds
	// none in plaintext.
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(dstPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{copyRT, copyAT, copyCSRF, copyPKCE, copyOutboxToken, copyRaw} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the target file holds a secret in plaintext (%d bytes)", len(s))
		}
	}
}

func TestImportRefusedBolt(t *testing.T) {
	for _, seed := range seedCases() {
		t.Run(seed.name, func(t *testing.T) {
			src, dst, _, _ := openCopyPair(t)
			importRefusedTest(t, src, dst, seed.write)
		})
	}
}

func TestImportInvalidBolt(t *testing.T) {
	_, dst, _, _ := openCopyPair(t)
	importInvalidTest(t, dst)
}

// TestImportBatches copies more records than one import transaction
// writes: every one arrives, and the sequences continue after the last.
func TestImportBatches(t *testing.T) {
	src, dst, _, _ := openCopyPair(t)
	ctx := t.Context()
	const n = 2500 // over two of Import's transactions
	err := src.Update(ctx, func(tx riscd.Tx) error {
		for i := range n {
			if _, err := tx.AppendAudit(ctx, riscd.AuditEntry{Sub: fmt.Sprintf("sub-%d", i%7), Action: "a"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.Import(ctx, src.Export); err != nil {
		t.Fatalf("Import: %v", err)
	}
	c, err := dst.Count(ctx)
	if err != nil || c.Audit != n {
		t.Fatalf("Count after import: %+v, %v; want %d audit entries", c, err, n)
	}
	e, err := dst.AppendAudit(ctx, riscd.AuditEntry{Action: "after"})
	if err != nil || e.ID != n+1 {
		t.Errorf("AppendAudit after import: ID %d, %v; want %d", e.ID, err, n+1)
	}
	if err := dst.Check(ctx); err != nil {
		t.Errorf("Check after import: %v", err)
	}
}

// TestImportSourceFails: an error of the source's fails Import with it.
func TestImportSourceFails(t *testing.T) {
	_, dst, _, _ := openCopyPair(t)
	boom := errors.New("source failed")
	err := dst.Import(t.Context(), func(ctx context.Context, fn func(riscd.Record) error) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("Import from a failing source: %v, want its error", err)
	}
}

// Secrets of the filled store, looked for in the target's file.
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

// fill writes records of every kind, in every status, into db, moving the
// clock between writes so that every time differs.
func fill(t *testing.T, db riscd.DB, clock *testkit.Clock) {
	t.Helper()
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tick := func() { clock.Advance(time.Second + 7*time.Nanosecond) }
	now := clock.Now

	must(db.PutAccount(ctx, riscd.Account{Sub: "sub-a", Email: "a@example.com"}))
	tick()
	must(db.PutAccount(ctx, riscd.Account{Sub: "sub-b", Email: "b@example.com", Held: true, Flags: []string{"credential-change"},
		SessionsRevokedAt: now().Add(-time.Hour)}))
	tick()

	g1, err := db.CreateGrant(ctx, riscd.Grant{Sub: "sub-a", Email: "A@example.com", EmailVerified: true,
		Scopes: []string{"openid", "email"}, RefreshToken: copyRT, AccessToken: copyAT, TokenType: "Bearer",
		Expiry: now().Add(time.Hour), IDTokenExp: now().Add(2 * time.Hour)})
	must(err)
	tick()
	g1.LastUsedAt, g1.RefreshedAt = now(), now().Add(-time.Minute)
	must(db.PutGrant(ctx, g1)) // UpdatedAt now differs from CreatedAt
	tick()
	_, err = db.CreateGrant(ctx, riscd.Grant{Sub: "sub-b", Status: riscd.GrantHeld, Reason: "account held", ChangedBy: "jti-1",
		AccessToken: "ya29.held"})
	must(err)
	tick()
	_, err = db.CreateGrant(ctx, riscd.Grant{Sub: "sub-b", Status: riscd.GrantRevoked, Reason: "token-revoked", ChangedBy: "operator",
		RefreshToken: "1//0short"})
	must(err)
	tick()

	a1, err := db.AppendAudit(ctx, riscd.AuditEntry{Transmitter: "google", EventJTI: "jti-1", EventType: "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
		Sub: "sub-b", GrantIDs: []string{g1.ID}, Action: "hold", Outcome: "ok", Detail: "held 1 grant", Actor: "event"})
	must(err)
	tick()
	_, err = db.AppendAudit(ctx, riscd.AuditEntry{Action: "rotate", Actor: "operator", DryRun: true})
	must(err)
	tick()
	_, _, err = db.PutMark(ctx, riscd.Mark{Key: "event:google:jti-1", AuditID: a1.ID})
	must(err)
	_, _, err = db.PutMark(ctx, riscd.Mark{Key: "other-work", At: now().Add(-time.Minute)})
	must(err)
	tick()

	must(db.CreateSession(ctx, riscd.Session{ID: copyIDs.live, Sub: "sub-a", Email: "a@example.com", CSRF: copyCSRF,
		ExpiresAt: now().Add(time.Hour)}))
	tick()
	must(db.CreateSession(ctx, riscd.Session{ID: copyIDs.anon, CSRF: "anon-csrf"}))
	must(db.CreateSession(ctx, riscd.Session{ID: copyIDs.expired, Sub: "sub-b", CSRF: "old-csrf", ExpiresAt: now().Add(time.Second)}))
	must(db.CreateFlow(ctx, riscd.Flow{ID: copyIDs.flow, State: "state-value", PKCEVerifier: copyPKCE, Nonce: "nonce-value",
		Features: []string{"tokens"}, Scopes: []string{"openid"}, Sub: "sub-a"}))
	tick()

	claims := json.RawMessage(`{"iss":"https://accounts.google.com/","jti":"jti-%d","events":{}}`)
	var ids []uint64
	for i := range 3 {
		e, _, err := db.PutInbox(ctx, riscd.InboxEntry{Transmitter: "google", Iss: "https://accounts.google.com/",
			JTI: fmt.Sprintf("jti-%d", i+1), Subject: "google|sub-b", Types: []string{"https://schemas.openid.net/secevent/risc/event-type/account-disabled"},
			Raw: copyRaw, Claims: json.RawMessage(fmt.Sprintf(string(claims), i+1))})
		must(err)
		ids = append(ids, e.ID)
		tick()
	}
	_, err = db.UpdateInbox(ctx, ids[0], func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status, e.Attempts, e.DoneAt = riscd.InboxDone, 1, now()
		return e, nil
	})
	must(err)
	_, err = db.UpdateInbox(ctx, ids[1], func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status, e.Attempts, e.LastError, e.NextAttemptAt = riscd.InboxParked, 5, "no grant", now().Add(time.Minute)
		return e, nil
	})
	must(err)
	tick()

	j1, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Key: "sub-b", Token: copyOutboxToken, GrantID: g1.ID,
		Deadline: now().Add(24 * time.Hour)})
	must(err)
	j2, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "sub-b", Payload: json.RawMessage(`{"event":"held"}`),
		Deadline: now().Add(time.Hour)})
	must(err)
	_, err = db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "sub-a", Payload: json.RawMessage(`{"n":1}`)})
	must(err)
	tick()
	_, err = db.UpdateOutbox(ctx, j2.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Status, j.Attempts, j.LastError, j.DoneAt = riscd.OutboxFailed, 9, "503", now()
		return j, nil
	})
	must(err)
	_, err = db.UpdateOutbox(ctx, j1.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Attempts, j.NextAttemptAt = 2, now().Add(time.Minute)
		return j, nil
	})
	must(err)
	tick()
	tick() // the session copyIDs.expired has expired
}

// exportAll returns every record db exports.
func exportAll(t *testing.T, db riscd.Store) []riscd.Record {
	t.Helper()
	var out []riscd.Record
	if err := db.Export(t.Context(), func(r riscd.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("Export: %v", err)
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
		}
	}
	return n
}

// copyTest fills src, copies it into dst (empty, on the same clock) and
// checks that every read gives the same answer on both, that the source is
// unchanged, and that dst's sequences continue after the copied IDs.
func copyTest(t *testing.T, src, dst riscd.DB, clock *testkit.Clock) {
	ctx := t.Context()
	fill(t, src, clock)
	before := exportAll(t, src)
	want := map[string]int{"grant": 3, "account": 2, "session": 3, "flow": 1, "inbox": 3, "outbox": 3, "audit": 2, "mark": 2}
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
	if after := exportAll(t, src); !reflect.DeepEqual(after, before) {
		t.Errorf("the source changed while it was exported")
	}
	if got := exportAll(t, dst); !reflect.DeepEqual(got, before) {
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
	same := func(what string, read func(db riscd.DB) (any, error)) {
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
			same("Grant "+r.Grant.ID, func(db riscd.DB) (any, error) { return db.Grant(ctx, r.Grant.ID) })
		}
		if r.Inbox != nil {
			same("InboxEntry", func(db riscd.DB) (any, error) { return db.InboxEntry(ctx, r.Inbox.ID) })
			same("InboxByJTI", func(db riscd.DB) (any, error) { return db.InboxByJTI(ctx, r.Inbox.Iss, r.Inbox.JTI) })
		}
		if r.Outbox != nil {
			same("OutboxJob", func(db riscd.DB) (any, error) { return db.OutboxJob(ctx, r.Outbox.ID) })
		}
		if r.Mark != nil {
			same("Mark", func(db riscd.DB) (any, error) { return db.Mark(ctx, r.Mark.Key) })
		}
		if r.Account != nil {
			same("Account", func(db riscd.DB) (any, error) { return db.Account(ctx, r.Account.Sub) })
		}
	}
	for _, sub := range []string{"sub-a", "sub-b"} {
		same("GrantsBySub "+sub, func(db riscd.DB) (any, error) { return db.GrantsBySub(ctx, sub) })
		same("ListAudit "+sub, func(db riscd.DB) (any, error) {
			es, next, err := db.ListAudit(ctx, riscd.AuditQuery{Sub: sub})
			return fmt.Sprint(len(es), next, es), err
		})
	}
	same("GrantByRefreshDigest", func(db riscd.DB) (any, error) {
		return db.GrantByRefreshDigest(ctx, riscd.RefreshTokenDigest(copyRT))
	})
	same("GrantsByRefreshPrefix", func(db riscd.DB) (any, error) {
		return db.GrantsByRefreshPrefix(ctx, copyRT[:riscd.RefreshPrefixLen])
	})
	same("GrantsByVerifiedEmail", func(db riscd.DB) (any, error) { return db.GrantsByVerifiedEmail(ctx, "a@example.com") })
	same("CountGrants", func(db riscd.DB) (any, error) { return db.CountGrants(ctx) })
	for _, st := range []riscd.GrantStatus{"", riscd.GrantActive, riscd.GrantHeld, riscd.GrantRevoked} {
		same("ListGrants "+string(st), func(db riscd.DB) (any, error) {
			gs, next, err := db.ListGrants(ctx, riscd.GrantQuery{Status: st})
			return pairOf(gs, next), err
		})
	}
	same("AccountsNeedingAttention", func(db riscd.DB) (any, error) { return db.AccountsNeedingAttention(ctx, "", 0) })
	same("ListAudit", func(db riscd.DB) (any, error) {
		es, next, err := db.ListAudit(ctx, riscd.AuditQuery{})
		return pairOf(es, next), err
	})
	for _, q := range []riscd.InboxQuery{{}, {Status: riscd.InboxPending}, {Status: riscd.InboxDone}, {Status: riscd.InboxParked},
		{Subject: "google|sub-b"}, {Type: "https://schemas.openid.net/secevent/risc/event-type/account-disabled"}} {
		same(fmt.Sprintf("ListInbox %+v", q), func(db riscd.DB) (any, error) {
			es, next, err := db.ListInbox(ctx, q)
			return pairOf(es, next), err
		})
	}
	for _, st := range []riscd.InboxStatus{riscd.InboxPending, riscd.InboxDone, riscd.InboxParked} {
		same("CountInbox "+string(st), func(db riscd.DB) (any, error) { return db.CountInbox(ctx, st) })
	}
	same("PendingInbox", func(db riscd.DB) (any, error) { return db.PendingInbox(ctx, 0) })
	same("PendingOutbox", func(db riscd.DB) (any, error) { return db.PendingOutbox(ctx, 0) })
	same("FailedOutbox", func(db riscd.DB) (any, error) { return db.FailedOutbox(ctx, 0) })
	same("Session", func(db riscd.DB) (any, error) { return db.Session(ctx, copyIDs.live) })
	same("Session without a subject", func(db riscd.DB) (any, error) { return db.Session(ctx, copyIDs.anon) })
	if _, err := dst.Session(ctx, copyIDs.expired); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("the expired session on the target: %v, want ErrNotFound", err)
	}
	if s, err := dst.Session(ctx, copyIDs.live); err != nil || s.CSRF != copyCSRF || s.ID != copyIDs.live {
		t.Errorf("Session on the target: CSRF kept %v, ID kept %v, %v", s.CSRF == copyCSRF, s.ID == copyIDs.live, err)
	}
	same("TakeFlow", func(db riscd.DB) (any, error) { return db.TakeFlow(ctx, copyIDs.flow) })

	// Sessions deleted by subject on the target: its index by subject was
	// built.
	if n, err := dst.DeleteSessionsOf(ctx, "sub-a", time.Time{}); err != nil || n != 1 {
		t.Errorf("DeleteSessionsOf on the target: %d, %v; want 1", n, err)
	}

	// New records on the target take IDs after the copied ones.
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
	e, fresh, err := dst.PutInbox(ctx, riscd.InboxEntry{Iss: "https://accounts.google.com/", JTI: "jti-new"})
	if err != nil || !fresh || e.ID <= maxInbox {
		t.Errorf("PutInbox after import: ID %d (new %v), %v; want above %d", e.ID, fresh, err, maxInbox)
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
	if err := dst.Check(ctx); err != nil {
		t.Errorf("Check after new writes: %v", err)
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
		{"account", func(ctx context.Context, db riscd.DB) error { return db.PutAccount(ctx, riscd.Account{Sub: "x"}) }},
		{"mark", func(ctx context.Context, db riscd.DB) error {
			_, _, err := db.PutMark(ctx, riscd.Mark{Key: "k"})
			return err
		}},
		{"flow", func(ctx context.Context, db riscd.DB) error {
			return db.CreateFlow(ctx, riscd.Flow{ID: "f"})
		}},
		{"inbox", func(ctx context.Context, db riscd.DB) error {
			_, _, err := db.Inbox().PutInbox(ctx, riscd.InboxEntry{Iss: "i", JTI: "j"})
			return err
		}},
	}
}

// importRefusedTest: Import into a store holding one record fails with
// ErrExists and writes nothing.
func importRefusedTest(t *testing.T, src, dst riscd.DB, seed func(ctx context.Context, db riscd.DB) error) {
	ctx := t.Context()
	if _, err := src.CreateGrant(ctx, riscd.Grant{Sub: "sub-a", RefreshToken: copyRT}); err != nil {
		t.Fatal(err)
	}
	if err := src.PutAccount(ctx, riscd.Account{Sub: "sub-a"}); err != nil {
		t.Fatal(err)
	}
	if err := seed(ctx, dst); err != nil {
		t.Fatal(err)
	}
	before := exportAll(t, dst)
	if err := dst.Import(ctx, src.Export); !errors.Is(err, riscd.ErrExists) {
		t.Fatalf("Import into a store that is not empty: %v, want ErrExists", err)
	}
	if got := exportAll(t, dst); !reflect.DeepEqual(got, before) {
		t.Errorf("the refused import wrote: %v records, before %v", kindCounts(got), kindCounts(before))
	}
	if _, err := dst.GrantByRefreshDigest(ctx, riscd.RefreshTokenDigest(copyRT)); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("a grant of the refused import is found: %v", err)
	}
	// Nothing read from the source either: an empty source is refused too.
	if err := dst.Import(ctx, func(context.Context, func(riscd.Record) error) error { return nil }); !errors.Is(err, riscd.ErrExists) {
		t.Errorf("Import of nothing into a store that is not empty: %v, want ErrExists", err)
	}
}

// importInvalidTest: records Import cannot keep are refused, naming why.
func importInvalidTest(t *testing.T, dst riscd.DB) {
	ctx := t.Context()
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
		if rs := exportAll(t, dst); len(rs) != 0 {
			t.Errorf("%s: the failed import left %v", c.name, kindCounts(rs))
		}
	}
}
