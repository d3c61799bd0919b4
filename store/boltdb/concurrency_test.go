package boltdb_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

func TestConcurrentUpdateGrantLosesNothing(t *testing.T) {
	db := mustOpen(t, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: mustKey(t)})
	ctx := t.Context()
	g, err := db.CreateGrant(ctx, riscd.Grant{Sub: "s"})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				_, err := db.UpdateGrant(ctx, g.ID, func(g riscd.Grant) (riscd.Grant, error) {
					g.Scopes = append(g.Scopes, fmt.Sprint(w, "/", i))
					return g, nil
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("UpdateGrant: %v", err)
	}
	got, err := db.Grant(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range got.Scopes {
		seen[s] = true
	}
	if len(got.Scopes) != workers*each || len(seen) != workers*each {
		t.Fatalf("%d scopes (%d distinct), want %d", len(got.Scopes), len(seen), workers*each)
	}
}

func TestConcurrentPutInboxDedupes(t *testing.T) {
	db := mustOpen(t, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: mustKey(t)})
	ctx := t.Context()
	const jtis, copies = 4, 12
	type result struct {
		jti     string
		id      uint64
		created bool
		err     error
	}
	results := make(chan result, jtis*copies)
	var wg sync.WaitGroup
	for c := range copies {
		for j := range jtis {
			wg.Go(func() {
				jti := fmt.Sprint("jti-", j)
				e, created, err := db.PutInbox(ctx, riscd.InboxEntry{Iss: "https://accounts.google.com/", JTI: jti, Raw: fmt.Sprint("copy ", c)})
				results <- result{jti, e.ID, created, err}
			})
		}
	}
	wg.Wait()
	close(results)
	ids := map[string]map[uint64]bool{}
	created := map[string]int{}
	for r := range results {
		if r.err != nil {
			t.Fatalf("PutInbox: %v", r.err)
		}
		if ids[r.jti] == nil {
			ids[r.jti] = map[uint64]bool{}
		}
		ids[r.jti][r.id] = true
		if r.created {
			created[r.jti]++
		}
	}
	for j := range jtis {
		jti := fmt.Sprint("jti-", j)
		if len(ids[jti]) != 1 || created[jti] != 1 {
			t.Fatalf("%s: %d distinct ids, created %d times; want 1 and 1", jti, len(ids[jti]), created[jti])
		}
	}
	if n, err := db.CountInbox(ctx, riscd.InboxPending); err != nil || n != jtis {
		t.Fatalf("CountInbox = %d, %v; want %d", n, err, jtis)
	}
	if err := db.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

func TestConcurrentTakeFlowIsSingleUse(t *testing.T) {
	db := mustOpen(t, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: mustKey(t)})
	ctx := t.Context()
	if err := db.CreateFlow(ctx, riscd.Flow{ID: "f", State: "s"}); err != nil {
		t.Fatal(err)
	}
	const takers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, misses := 0, 0
	for range takers {
		wg.Go(func() {
			_, err := db.TakeFlow(ctx, "f")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, riscd.ErrNotFound):
				misses++
			default:
				t.Errorf("TakeFlow: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || misses != takers-1 {
		t.Fatalf("%d takers got the flow, %d did not; want 1 and %d", wins, misses, takers-1)
	}
}
