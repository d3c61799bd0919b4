package boltdb_test

import (
	"bytes"
	"fmt"
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

// The engine-neutral behaviour of admin sessions is store/storetest's;
// these tests are of what bbolt keeps on disk.

// adminSession is a session created at the clock's time, lasting ttl.
func adminSession(id string, clock *testkit.Clock, ttl time.Duration) riscd.AdminSession {
	now := clock.Now()
	return riscd.AdminSession{ID: riscd.Secret(id), CSRF: riscd.Secret("csrf-" + id), Operator: "operator", Created: now, Expires: now.Add(ttl)}
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
// admin_sessions: the open adds the bucket and marks the file with the
// current schema (which a schema-4 riscd refuses: its key rotation would not reseal the
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
	if schema, want := storedSchema(t, path), fmt.Sprint(boltdb.SchemaVersion); schema != want {
		t.Errorf("schema after open = %q, want %s", schema, want)
	}
}
