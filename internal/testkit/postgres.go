package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the URL of the PostgreSQL server that tests and
// benchmarks use; DefaultPostgresURL is used when it is unset.
const (
	PostgresEnv        = "RISCD_TEST_POSTGRES_URL"
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// PostgresURL returns the URL of the test PostgreSQL server. When no server
// answers there, tb skips, saying how to run it, or fails when CI=true.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(PostgresEnv)
	if u == "" {
		u = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		if os.Getenv("CI") == "true" {
			msg := err.Error()
			if pu, perr := url.Parse(u); perr == nil {
				if pw, ok := pu.User.Password(); ok && pw != "" {
					msg = strings.ReplaceAll(msg, pw, "xxxxx")
				}
			}
			tb.Fatalf("no PostgreSQL server at %s: %s", PostgresEnv, msg)
		}
		tb.Skip("no PostgreSQL server; set " + PostgresEnv + " to run (default " + DefaultPostgresURL + ")")
	}
	_ = conn.Close(ctx)
	return u
}

// NewPostgresDatabase creates an empty database riscd_test_<random> on the
// test server (see PostgresURL), dropped when tb ends, and returns its URL.
func NewPostgresDatabase(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL(tb)
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
			tb.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
