package boltdb_test

import (
	"log/slog"
	"testing"
	"time"

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

func TestSuite(t *testing.T) {
	key := mustKey(t)
	storetest.Run(t, func(t *testing.T, path string, now func() time.Time) *boltdb.DB {
		return mustOpen(t, boltdb.Options{Path: path, Key: key, Now: now, Logger: testLogger(t)})
	})
}
