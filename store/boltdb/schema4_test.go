package boltdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

// TestSchema3GainsTheEmailIndex opens a file as schema 3 left it, without
// grants.by_email: the open indexes the grants with a verified email, marks
// the file schema 4, and the store passes its check.
func TestSchema3GainsTheEmailIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	key := mustKey(t)
	db := mustOpen(t, boltdb.Options{Path: path, Key: key})
	var want []string
	for i, g := range []riscd.Grant{
		{Sub: "a", Email: "Ann@Example.com", EmailVerified: true},
		{Sub: "b", Email: "ann@example.com"},
		{Sub: "c", Email: "ann@example.com", EmailVerified: true},
		{Sub: "d", Email: "dan@example.com", EmailVerified: true},
	} {
		g.Status = riscd.GrantActive
		created, err := db.CreateGrant(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 || i == 2 {
			want = append(want, created.ID)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	writeBolt(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket([]byte("grants.by_email")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("3"))
	})

	db = mustOpen(t, boltdb.Options{Path: path, Key: key})
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after the upgrade: %v", err)
	}
	grants, err := db.GrantsByVerifiedEmail(ctx, "ANN@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range grants {
		got = append(got, g.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("GrantsByVerifiedEmail = %q, want %q", got, want)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if schema, want := storedSchema(t, path), fmt.Sprint(boltdb.SchemaVersion); schema != want {
		t.Errorf("schema after open = %q, want %s", schema, want)
	}
}

// TestEmailIndexFollowsTheGrant: changing, unverifying, erasing (a purge)
// and deleting keep grants.by_email in step, as Check confirms.
func TestEmailIndexFollowsTheGrant(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, boltdb.Options{Path: filepath.Join(t.TempDir(), "s.db"), Key: mustKey(t)})
	g, err := db.CreateGrant(ctx, riscd.Grant{Sub: "a", Email: "ann@example.com", EmailVerified: true, Status: riscd.GrantActive})
	if err != nil {
		t.Fatal(err)
	}
	find := func(email string) int {
		t.Helper()
		gs, err := db.GrantsByVerifiedEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Check(ctx); err != nil {
			t.Fatalf("Check: %v", err)
		}
		return len(gs)
	}
	steps := []struct {
		name  string
		edit  func(*riscd.Grant)
		email string
		want  int
	}{
		{"renamed", func(g *riscd.Grant) { g.Email = "Anne@example.com" }, "anne@example.com", 1},
		{"old address", func(*riscd.Grant) {}, "ann@example.com", 0},
		{"status change", func(g *riscd.Grant) { g.Status = riscd.GrantHeld }, "anne@example.com", 1},
		{"unverified", func(g *riscd.Grant) { g.EmailVerified = false }, "anne@example.com", 0},
		{"verified again", func(g *riscd.Grant) { g.EmailVerified = true }, "anne@example.com", 1},
		{"erased", func(g *riscd.Grant) { g.Email = "" }, "anne@example.com", 0},
	}
	for _, s := range steps {
		s.edit(&g)
		if err := db.PutGrant(ctx, g); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := find(s.email); got != s.want {
			t.Errorf("%s: %d grants for %s, want %d", s.name, got, s.email, s.want)
		}
	}
	g.Email = "ann@example.com"
	if err := db.PutGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if got := find("ann@example.com"); got != 0 {
		t.Errorf("after delete: %d grants, want 0", got)
	}
}
