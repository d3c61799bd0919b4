package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

// fillAll writes records of every kind into db.
func fillAll(t *testing.T, db riscd.DB, clock *testkit.Clock) {
	t.Helper()
	ctx := context.Background()
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
	must(db.PutAccount(ctx, riscd.Account{Sub: "sub-b", Held: true, Flags: []string{"credential-change"}}))
	g, err := db.CreateGrant(ctx, riscd.Grant{Sub: "sub-a", Email: "A@example.com", EmailVerified: true,
		Scopes: []string{"openid"}, RefreshToken: "1//0copy-refresh-token-abcdefgh", AccessToken: "ya29.copy",
		Expiry: now().Add(time.Hour)})
	must(err)
	tick()
	_, err = db.CreateGrant(ctx, riscd.Grant{Sub: "sub-b", Status: riscd.GrantHeld, AccessToken: "ya29.held"})
	must(err)
	a, err := db.AppendAudit(ctx, riscd.AuditEntry{Sub: "sub-b", GrantIDs: []string{g.ID}, Action: "hold"})
	must(err)
	_, _, err = db.PutMark(ctx, riscd.Mark{Key: "event:google:jti-1", AuditID: a.ID})
	must(err)
	must(db.CreateSession(ctx, riscd.Session{ID: "session-id", Sub: "sub-a", CSRF: "csrf", ExpiresAt: now().Add(time.Hour)}))
	must(db.CreateFlow(ctx, riscd.Flow{ID: "flow-id", State: "state", PKCEVerifier: "pkce", Nonce: "nonce", Sub: "sub-a",
		ConnectID: "connect-id"}))
	tick()
	must(db.CreateConnectSession(ctx, riscd.ConnectSession{ID: "connect-id", AppUser: "u-1", Features: []string{"drive"},
		ReturnTo: "https://app.example.com/after", LoginHint: "a@example.com", StartDigest: riscd.IDDigest("start"),
		StateDigest: riscd.IDDigest("state"), Status: riscd.ConnectConnected, Sub: "sub-a", Email: "a@example.com",
		GrantID: g.ID, Scopes: []string{"openid"}, ExpiresAt: now().Add(time.Hour)}))
	for _, l := range []riscd.AppUserLink{{AppUser: "u-1", Sub: "sub-a"}, {AppUser: "u-10", Sub: "sub-a"}, {AppUser: "u-2", Sub: "sub-b"}} {
		_, _, err := db.LinkAppUser(ctx, l)
		must(err)
		tick()
	}
	for _, jti := range []string{"jti-1", "jti-2"} {
		_, _, err := db.PutInbox(ctx, riscd.InboxEntry{Transmitter: "google", Iss: "https://accounts.google.com/", JTI: jti,
			Subject: "google|sub-b", Types: []string{"t"}, Raw: "eyJ.raw.sig", Claims: json.RawMessage(`{"jti":"` + jti + `"}`)})
		must(err)
		tick()
	}
	_, err = db.UpdateInbox(ctx, 1, func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status, e.DoneAt = riscd.InboxDone, now()
		return e, nil
	})
	must(err)
	_, err = db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Key: "sub-b", Token: "1//0revoke", GrantID: g.ID})
	must(err)
	_, err = db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Payload: json.RawMessage(`{"e":1}`)})
	must(err)
}

func exportAll(t *testing.T, db riscd.DB) []riscd.Record {
	t.Helper()
	var out []riscd.Record
	if err := db.Export(context.Background(), func(r riscd.Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCopyBetweenEngines(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC))
	key := testKey(t)
	bolt, err := boltdb.Open(ctx, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	fillAll(t, bolt, clock)
	want := exportAll(t, bolt)
	if len(want) != 16 {
		t.Fatalf("bbolt exported %d records", len(want))
	}

	pg := openTest(t, newDatabase(t), testKey(t), clock.Now)
	if err := pg.Import(ctx, bolt.Export); err != nil {
		t.Fatal(err)
	}
	if err := pg.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if got := exportAll(t, pg); !reflect.DeepEqual(got, want) {
		for i := range got {
			if i < len(want) && !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("record %d: PostgreSQL exports %s, bbolt %s", i, describe(got[i]), describe(want[i]))
			}
		}
		t.Fatalf("PostgreSQL exports %d records after importing bbolt's %d", len(got), len(want))
	}
	// A second import finds the store not empty and writes nothing.
	before, _ := pg.Count(ctx)
	if err := pg.Import(ctx, bolt.Export); !errors.Is(err, riscd.ErrExists) {
		t.Fatalf("Import into a non-empty store = %v, want ErrExists", err)
	}
	if after, _ := pg.Count(ctx); after != before {
		t.Fatalf("counts %+v -> %+v", before, after)
	}
	// Sessions and flows are found by their IDs; sequences continue.
	if s, err := pg.Session(ctx, "session-id"); err != nil || s.CSRF != "csrf" {
		t.Fatalf("Session = %+v, %v", s, err)
	}
	if f, err := pg.TakeFlow(ctx, "flow-id"); err != nil || f.PKCEVerifier != "pkce" {
		t.Fatalf("TakeFlow = %+v, %v", f, err)
	}
	clock.Set(clock.Now().Add(-time.Hour)) // a clock behind the imported grants
	g, err := pg.CreateGrant(ctx, riscd.Grant{Sub: "new"})
	if err != nil {
		t.Fatal(err)
	}
	gs, _, err := pg.ListGrants(ctx, riscd.GrantQuery{})
	if err != nil || gs[0].ID != g.ID {
		t.Fatalf("the new grant does not sort after the imported ones: %v", err)
	}
	e, _, err := pg.Inbox().PutInbox(ctx, entry("after-import"))
	j, err2 := pg.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook})
	au, err3 := pg.AppendAudit(ctx, riscd.AuditEntry{Action: "x"})
	if err != nil || err2 != nil || err3 != nil || e.ID != 3 || j.ID != 3 || au.ID != 2 {
		t.Fatalf("new IDs inbox %d, outbox %d, audit %d (%v %v %v); want 3, 3, 2", e.ID, j.ID, au.ID, err, err2, err3)
	}

	// And back: PostgreSQL to a new bbolt store.
	back, err := boltdb.Open(ctx, boltdb.Options{Path: filepath.Join(t.TempDir(), "back.db"), Key: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if err := back.Import(ctx, pg.Export); err != nil {
		t.Fatal(err)
	}
	if err := back.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := exportAll(t, back), exportAll(t, pg); !reflect.DeepEqual(got, want) {
		t.Fatalf("bbolt exports\n%+v\nafter importing\n%+v", got, want)
	}
}

// describe shows a record's kind and contents for a failure message.
func describe(r riscd.Record) string {
	for _, p := range []any{r.Grant, r.Account, r.Session, r.Flow, r.Inbox, r.Outbox, r.Audit, r.Mark, r.Connect, r.Link} {
		if v := reflect.ValueOf(p); !v.IsNil() {
			return fmt.Sprintf("%T %+v", p, v.Elem().Interface())
		}
	}
	return "an empty record"
}
