package boltdb_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
)

// adminT0 is the clock of the admin session tests.
var adminT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// openAdminStore opens a store on a test clock.
func openAdminStore(t *testing.T) (*boltdb.DB, *testkit.Clock, string) {
	t.Helper()
	clock := testkit.NewClock(adminT0)
	path := filepath.Join(t.TempDir(), "riscd.db")
	return mustOpen(t, boltdb.Options{Path: path, Key: adminKey, Now: clock.Now}), clock, path
}

// adminKey is the key of the admin session tests' stores.
var adminKey = func() boltdb.Key {
	k, _, err := boltdb.GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
}()

// adminSession is a session created at the clock's time, lasting ttl.
func adminSession(id string, clock *testkit.Clock, ttl time.Duration) riscd.AdminSession {
	now := clock.Now()
	return riscd.AdminSession{ID: riscd.Secret(id), CSRF: riscd.Secret("csrf-" + id), Operator: "operator", Created: now, Expires: now.Add(ttl)}
}

func TestAdminSessionRoundTrip(t *testing.T) {
	db, clock, _ := openAdminStore(t)
	ctx := t.Context()
	want := riscd.AdminSession{ID: "sid-1", CSRF: "csrf-1", Operator: "ops-team", Created: adminT0.Add(-time.Minute), Expires: adminT0.Add(time.Hour)}
	if err := db.CreateAdminSession(ctx, want, 10); err != nil {
		t.Fatal(err)
	}
	got, err := db.AdminSession(ctx, "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || got.CSRF != want.CSRF || got.Operator != want.Operator || !got.Created.Equal(want.Created) || !got.Expires.Equal(want.Expires) {
		t.Errorf("AdminSession = %+v, want %+v", got, want)
	}
	if _, err := db.AdminSession(ctx, "sid-2"); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	// A zero Created becomes the store's now.
	if err := db.CreateAdminSession(ctx, riscd.AdminSession{ID: "sid-3", CSRF: "c", Expires: adminT0.Add(time.Hour)}, 10); err != nil {
		t.Fatal(err)
	}
	if got, err := db.AdminSession(ctx, "sid-3"); err != nil || !got.Created.Equal(clock.Now()) {
		t.Errorf("Created = %v (%v), want %v", got.Created, err, clock.Now())
	}
}

func TestAdminSessionExpires(t *testing.T) {
	db, clock, _ := openAdminStore(t)
	ctx := t.Context()
	if err := db.CreateAdminSession(ctx, adminSession("sid", clock, time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour - time.Nanosecond)
	if _, err := db.AdminSession(ctx, "sid"); err != nil {
		t.Fatalf("just before Expires: %v", err)
	}
	clock.Advance(time.Nanosecond)
	if _, err := db.AdminSession(ctx, "sid"); !errors.Is(err, riscd.ErrNotFound) {
		t.Fatalf("at Expires: %v, want ErrNotFound", err)
	}
	// An expired session can still be deleted, once.
	if err := db.DeleteAdminSession(ctx, "sid"); err != nil {
		t.Fatalf("delete an expired session: %v", err)
	}
	if err := db.DeleteAdminSession(ctx, "sid"); !errors.Is(err, riscd.ErrNotFound) {
		t.Fatalf("delete again: %v, want ErrNotFound", err)
	}
}

func TestCreateAdminSessionRefusals(t *testing.T) {
	db, clock, _ := openAdminStore(t)
	ctx := t.Context()
	if err := db.CreateAdminSession(ctx, adminSession("sid", clock, time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	dup := adminSession("sid", clock, 2*time.Hour)
	dup.CSRF = "other"
	if err := db.CreateAdminSession(ctx, dup, 10); !errors.Is(err, riscd.ErrExists) {
		t.Errorf("taken id: %v, want ErrExists", err)
	}
	if got, err := db.AdminSession(ctx, "sid"); err != nil || got.CSRF != "csrf-sid" {
		t.Errorf("the first session changed: %+v, %v", got, err)
	}
	if err := db.CreateAdminSession(ctx, riscd.AdminSession{CSRF: "c"}, 10); !errors.Is(err, riscd.ErrInvalid) {
		t.Errorf("empty id: %v, want ErrInvalid", err)
	}
	if err := db.CreateAdminSession(ctx, adminSession("sid-0", clock, time.Hour), 0); !errors.Is(err, riscd.ErrInvalid) {
		t.Errorf("max 0: %v, want ErrInvalid", err)
	}
}

// TestCreateAdminSessionBound: a new session deletes the expired ones,
// then the oldest live ones beyond max-1.
func TestCreateAdminSessionBound(t *testing.T) {
	db, clock, _ := openAdminStore(t)
	ctx := t.Context()
	live := func(ids ...string) []string {
		var out []string
		for _, id := range ids {
			if _, err := db.AdminSession(ctx, riscd.Secret(id)); err == nil {
				out = append(out, id)
			} else if !errors.Is(err, riscd.ErrNotFound) {
				t.Fatal(err)
			}
		}
		return out
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := db.CreateAdminSession(ctx, adminSession(id, clock, time.Hour), 3); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	if err := db.CreateAdminSession(ctx, adminSession("d", clock, time.Hour), 3); err != nil {
		t.Fatal(err)
	}
	if got := live("a", "b", "c", "d"); !equal(got, []string{"b", "c", "d"}) {
		t.Fatalf("after d: live %v, want [b c d]", got)
	}
	// e expires soon; once it has, the next session takes its place and
	// no live one ends.
	clock.Advance(time.Minute)
	if err := db.CreateAdminSession(ctx, adminSession("e", clock, time.Minute), 4); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := db.CreateAdminSession(ctx, adminSession("f", clock, time.Hour), 4); err != nil {
		t.Fatal(err)
	}
	if got := live("b", "c", "d", "e", "f"); !equal(got, []string{"b", "c", "d", "f"}) {
		t.Fatalf("after f: live %v, want [b c d f]", got)
	}
	if err := db.DeleteAdminSession(ctx, "e"); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("the expired e was kept: delete answered %v, want ErrNotFound", err)
	}
	// max 1: the new session alone remains.
	if err := db.CreateAdminSession(ctx, adminSession("g", clock, time.Hour), 1); err != nil {
		t.Fatal(err)
	}
	if got := live("b", "c", "d", "f", "g"); !equal(got, []string{"g"}) {
		t.Fatalf("after g with max 1: live %v, want [g]", got)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestAdminSessionOnDisk: the file holds neither the session's id nor its
// CSRF token in any form, and Check verifies each record.
func TestAdminSessionOnDisk(t *testing.T) {
	db, clock, path := openAdminStore(t)
	ctx := t.Context()
	s := adminSession("sid-YWRtaW4tc2Vzc2lvbi1pZC1iZWFyZXI", clock, time.Hour)
	s.CSRF = "csrf-YWRtaW4tY3NyZi10b2tlbi12YWx1ZQ"
	if err := db.CreateAdminSession(ctx, s, 10); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"op":"operator"`)) {
		t.Fatal("the file does not look like the store just written")
	}
	for name, secret := range map[string]string{"session id": s.ID.Reveal(), "CSRF token": s.CSRF.Reveal()} {
		for form, needle := range encodings(secret) {
			if bytes.Contains(raw, []byte(needle)) {
				t.Errorf("%s found on disk (%s)", name, form)
			}
		}
	}

	// A record whose CSRF token does not open, or that does not decode,
	// fails the check.
	for name, record := range map[string]string{
		"sealed under nothing": `{"v":1,"op":"operator","csrf":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","ca":1,"exp":2}`,
		"not JSON":             `{"v":1,`,
	} {
		t.Run(name, func(t *testing.T) {
			writeBolt(t, path, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte("admin_sessions"))
				k, _ := b.Cursor().First()
				return b.Put(bytes.Clone(k), []byte(record))
			})
			db := mustOpen(t, boltdb.Options{Path: path, Key: adminKey, Now: clock.Now})
			if err := db.Check(ctx); err == nil || !strings.Contains(err.Error(), "admin_sessions") {
				t.Errorf("Check = %v, want a failure naming admin_sessions", err)
			}
			if _, err := db.AdminSession(ctx, s.ID); err == nil {
				t.Errorf("AdminSession read a damaged record")
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSchema4GainsAdminSessions opens a file as schema 4 left it, without
// admin_sessions: the open adds the bucket and marks the file schema 5
// (which a schema-4 riscd refuses: its key rotation would not reseal the
// sessions' CSRF tokens), and admin sessions work.
func TestSchema4GainsAdminSessions(t *testing.T) {
	db, clock, path := openAdminStore(t)
	ctx := t.Context()
	if _, err := db.CreateGrant(ctx, riscd.Grant{Sub: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	writeBolt(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte("admin_sessions")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("4"))
	})
	db = mustOpen(t, boltdb.Options{Path: path, Key: adminKey, Now: clock.Now})
	if err := db.CreateAdminSession(ctx, adminSession("sid", clock, time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AdminSession(ctx, "sid"); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after the upgrade: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if schema := storedSchema(t, path); schema != "5" {
		t.Errorf("schema after open = %q, want 5", schema)
	}
}
