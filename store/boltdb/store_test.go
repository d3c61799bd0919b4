package boltdb_test

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/storetest"
)

// mustKey makes a fresh random key.
func mustKey(tb testing.TB) boltdb.Key {
	tb.Helper()
	k, _, err := boltdb.GenerateKey()
	if err != nil {
		tb.Fatalf("GenerateKey: %v", err)
	}
	return k
}

// testLogger writes the store's log lines to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// mustOpen opens a store with the given options, failing tb on error and
// closing the store when the test ends.
func mustOpen(tb testing.TB, opts boltdb.Options) *boltdb.DB {
	tb.Helper()
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 50 * time.Millisecond
	}
	db, err := boltdb.Open(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// TestSuite runs the store's behavioural suite against bbolt stores, each
// a file in a temporary directory, reopened with the same key.
func TestSuite(t *testing.T) {
	key := mustKey(t)
	storetest.RunTests(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) riscd.DB {
			path := filepath.Join(t.TempDir(), "riscd.db")
			return mustOpen(t, boltdb.Options{Path: path, Key: key, Now: now, Logger: testLogger(t)})
		},
		Reopen: func(t *testing.T, db riscd.DB, now func() time.Time) riscd.DB {
			path := db.(*boltdb.DB).Path()
			if err := db.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return mustOpen(t, boltdb.Options{Path: path, Key: key, Now: now, Logger: testLogger(t)})
		},
	})
}

// TestStatsSizes: besides Count's record counts, Stats gives the file's
// sizes and the IDs of the keys whose check values the store holds.
func TestStatsSizes(t *testing.T) {
	db := mustOpen(t, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: mustKey(t)})
	if _, err := db.CreateGrant(t.Context(), riscd.Grant{Sub: "s", RefreshToken: riscd.Secret(storetest.RefreshToken(1))}); err != nil {
		t.Fatal(err)
	}
	s, err := db.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s.Counts != c || c.Grants != 1 {
		t.Errorf("Stats counts %+v, Count %+v; want the same, with 1 grant", s.Counts, c)
	}
	if s.FileBytes <= 0 || s.DataBytes <= 0 || s.LiveBytes < 0 || s.LiveBytes > s.DataBytes || len(s.KeyIDs) != 1 {
		t.Errorf("Stats sizes file %d, data %d, live %d; key ids %v", s.FileBytes, s.DataBytes, s.LiveBytes, s.KeyIDs)
	}
}
