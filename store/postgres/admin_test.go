package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
)

func TestAdminSessions(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC))
	dbURL := newDatabase(t)
	key := testKey(t)
	db := openTest(t, dbURL, key, clock.Now)
	ctx := context.Background()
	create := func(id riscd.Secret, expires time.Duration) {
		t.Helper()
		if err := db.CreateAdminSession(ctx, riscd.AdminSession{ID: id, CSRF: "csrf-" + id, Operator: "op",
			Expires: clock.Now().Add(expires)}, 2); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	create("one", time.Hour)
	create("two", time.Hour)
	if err := db.CreateAdminSession(ctx, riscd.AdminSession{ID: "two"}, 2); !errors.Is(err, riscd.ErrExists) {
		t.Fatalf("CreateAdminSession of a taken id = %v", err)
	}
	create("three", time.Hour) // max 2: "one", the oldest, goes
	if _, err := db.AdminSession(ctx, "one"); !errors.Is(err, riscd.ErrNotFound) {
		t.Fatalf("AdminSession(one) = %v, want ErrNotFound", err)
	}
	s, err := db.AdminSession(ctx, "three")
	if err != nil || s.CSRF != "csrf-three" || s.Operator != "op" || s.ID != "three" {
		t.Fatalf("AdminSession(three) = %+v, %v", s, err)
	}
	clock.Advance(time.Hour)
	if _, err := db.AdminSession(ctx, "three"); !errors.Is(err, riscd.ErrNotFound) {
		t.Fatalf("expired AdminSession = %v, want ErrNotFound", err)
	}
	// Expired but kept until the next sign-in or a delete: a replica sees
	// the other's sign-ins.
	other := openTest(t, dbURL, key, clock.Now)
	if err := other.DeleteAdminSession(ctx, "two"); err != nil {
		t.Fatal(err)
	}
	if err := other.DeleteAdminSession(ctx, "two"); !errors.Is(err, riscd.ErrNotFound) {
		t.Fatalf("second DeleteAdminSession = %v", err)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
