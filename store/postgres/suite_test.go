package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store/storetest"
)

// TestSuite runs the store contract's behavioural suite on PostgreSQL,
// each case on a database of its own.
func TestSuite(t *testing.T) {
	testkit.PostgresServer(t)
	type store struct {
		url string
		key seal.Key
	}
	stores := map[riscd.DB]store{}
	open := func(t *testing.T, s store, now func() time.Time) riscd.DB {
		db, err := Open(context.Background(), Options{URL: s.url, Key: s.key, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		stores[db] = s
		return db
	}
	storetest.RunTests(t, storetest.Harness{
		New: func(t *testing.T, now func() time.Time) riscd.DB {
			db := open(t, store{newDatabase(t), testKey(t)}, now)
			t.Cleanup(func() { _ = db.Close() })
			return db
		},
		Reopen: func(t *testing.T, db riscd.DB, now func() time.Time) riscd.DB {
			s := stores[db]
			_ = db.Close()
			again := open(t, s, now)
			t.Cleanup(func() { _ = again.Close() })
			return again
		},
	})
}
