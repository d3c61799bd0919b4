package boltdb_test

import (
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

// TestSchema5GainsConnect opens a file as schema 5 left it, without the
// connect sessions' and links' buckets: the open adds them and marks the
// file schema 6 (which a schema-5 riscd refuses: it would neither copy,
// check nor reseal them), and connect sessions and links work.
func TestSchema5GainsConnect(t *testing.T) {
	ctx := t.Context()
	path := t.TempDir() + "/s.db"
	key := mustKey(t)
	db := mustOpen(t, boltdb.Options{Path: path, Key: key})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	writeBolt(t, path, func(tx *bolt.Tx) error {
		for _, b := range []string{"connect", "links.by_app_user", "links.by_sub"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("5"))
	})
	db = mustOpen(t, boltdb.Options{Path: path, Key: key})
	s := riscd.ConnectSession{ID: "c", AppUser: "u", Status: riscd.ConnectPending, LoginHint: "ann@example.com",
		ExpiresAt: time.Now().Add(riscd.ConnectSessionTTL)}
	if err := db.CreateConnectSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.LinkAppUser(ctx, riscd.AppUserLink{AppUser: "u", Sub: "s"}); err != nil {
		t.Fatal(err)
	}
	if got, err := db.ConnectSession(ctx, "c"); err != nil || got.LoginHint != s.LoginHint {
		t.Fatalf("ConnectSession = %+v, %v", got, err)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after the upgrade: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if schema, want := storedSchema(t, path), fmt.Sprint(boltdb.SchemaVersion); schema != want || want != "6" {
		t.Errorf("schema after open = %q, want %s (6)", schema, want)
	}
}
