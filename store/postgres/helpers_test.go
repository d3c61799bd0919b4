package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/seal"
)

// newDatabase creates an empty database for the test, dropped at its end,
// and returns its URL; without a server the test skips (fails under CI).
func newDatabase(t testing.TB) string {
	t.Helper()
	return testkit.PostgresDatabase(t, "")
}

func testKey(t testing.TB) seal.Key {
	t.Helper()
	k, _, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// openTest opens the database at dbURL, closed at the test's end.
func openTest(t testing.TB, dbURL string, key seal.Key, now func() time.Time) *DB {
	t.Helper()
	db, err := Open(context.Background(), Options{URL: dbURL, Key: key, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// sqlConn is a plain connection to dbURL for inspecting the database.
func sqlConn(t testing.TB, dbURL string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}
