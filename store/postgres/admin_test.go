package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
)

// TestAdminSessionsAcrossReplicas: replicas share the admin sessions, so
// that a browser signed in on one is signed in on every one, and signed
// out on every one by a delete on any. The behaviour of one store's admin
// sessions is store/storetest's.
func TestAdminSessionsAcrossReplicas(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC))
	dbURL := newDatabase(t)
	key := testKey(t)
	a := openTest(t, dbURL, key, clock.Now)
	b := openTest(t, dbURL, key, clock.Now)
	ctx := context.Background()
	create := func(db *DB, id riscd.Secret) {
		t.Helper()
		if err := db.CreateAdminSession(ctx, riscd.AdminSession{ID: id, CSRF: "csrf-" + id, Operator: "op",
			Expires: clock.Now().Add(time.Hour)}, 2); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	create(a, "one")
	create(a, "two")
	if err := b.CreateAdminSession(ctx, riscd.AdminSession{ID: "two", CSRF: "c"}, 2); !errors.Is(err, riscd.ErrExists) {
		t.Fatalf("CreateAdminSession on b of an id taken on a = %v, want ErrExists", err)
	}
	if s, err := b.AdminSession(ctx, "two"); err != nil || s.CSRF != "csrf-two" || s.Operator != "op" {
		t.Fatalf("AdminSession on b of a's = %+v, %v", s, err)
	}
	create(b, "three") // max 2: "one", the oldest, which a created, goes
	if _, err := a.AdminSession(ctx, "one"); !errors.Is(err, riscd.ErrNotFound) {
		t.Fatalf("AdminSession(one) on a = %v, want ErrNotFound", err)
	}
	if err := b.DeleteAdminSession(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AdminSession(ctx, "two"); !errors.Is(err, riscd.ErrNotFound) {
		t.Fatalf("AdminSession on a after a delete on b = %v, want ErrNotFound", err)
	}
	if err := a.DeleteAdminSession(ctx, "two"); !errors.Is(err, riscd.ErrNotFound) {
		t.Fatalf("DeleteAdminSession on a after b's = %v, want ErrNotFound", err)
	}
	if err := a.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
