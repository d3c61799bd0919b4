package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riscd/riscd/seal"
)

const defaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// serverURL is the test server's URL; the test skips (fails under CI)
// when no server answers.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("RISCD_TEST_POSTGRES_URL")
	if u == "" {
		u = defaultTestURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no PostgreSQL server: %s", redact(err.Error(), urlPassword(u)))
		}
		t.Skip("no PostgreSQL server; set RISCD_TEST_POSTGRES_URL to run (default " + defaultTestURL + ")")
	}
	_ = conn.Close(ctx)
	return u
}

// newDatabase creates an empty database for the test, dropped at its end,
// and returns its URL.
func newDatabase(t testing.TB) string {
	t.Helper()
	base := serverURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "riscd_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
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
