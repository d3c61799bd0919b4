package postgres

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/store/storetest"
)

// TestCopyBetweenEngines copies a bbolt store into PostgreSQL and back:
// each engine reads back what the other exported. The behaviour of a copy
// between two stores of one engine is store/storetest's.
func TestCopyBetweenEngines(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC))
	key := testKey(t)
	bolt, err := boltdb.Open(ctx, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	storetest.Fill(t, bolt, clock)
	want := storetest.ExportAll(t, bolt)

	pg := openTest(t, newDatabase(t), testKey(t), clock.Now)
	if err := pg.Import(ctx, bolt.Export); err != nil {
		t.Fatal(err)
	}
	if err := pg.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storetest.ExportAll(t, pg); !reflect.DeepEqual(got, want) {
		t.Fatalf("PostgreSQL exports\n%+v\nafter importing\n%+v", got, want)
	}

	// And back: PostgreSQL to a new bbolt store.
	back, err := boltdb.Open(ctx, boltdb.Options{Path: filepath.Join(t.TempDir(), "back.db"), Key: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if err := back.Import(ctx, pg.Export); err != nil {
		t.Fatal(err)
	}
	if err := back.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storetest.ExportAll(t, back); !reflect.DeepEqual(got, want) {
		t.Fatalf("bbolt exports\n%+v\nafter importing\n%+v", got, want)
	}
}
