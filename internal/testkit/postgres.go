package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the PostgreSQL server tests use when
// RISCD_TEST_POSTGRES_URL is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresServer returns the URL of the test PostgreSQL server
// (RISCD_TEST_POSTGRES_URL, else DefaultPostgresURL). When none answers,
// the test skips with a line saying how to run it, or fails when CI=true.
func PostgresServer(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("RISCD_TEST_POSTGRES_URL")
	if u == "" {
		u = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		// The error is not printed: it may quote the URL's password.
		if os.Getenv("CI") == "true" {
			tb.Fatal("no PostgreSQL server at RISCD_TEST_POSTGRES_URL (default " + DefaultPostgresURL + ")")
		}
		tb.Skip("no PostgreSQL server; set RISCD_TEST_POSTGRES_URL to run (default " + DefaultPostgresURL + ")")
	}
	_ = conn.Close(ctx)
	return u
}

// PostgresDatabase creates an empty database (riscd_test_<random>) on
// the server at base, PostgresServer's when base is "", drops it when the
// test ends, and returns its URL.
func PostgresDatabase(tb testing.TB, base string) string {
	tb.Helper()
	if base == "" {
		base = PostgresServer(tb)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "riscd_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
