package boltdb

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SweepFlows goes past a record it cannot decode, counts it, and removes
// the old flows in several transactions.
func TestSweepFlowsSkipsUndecodableInBatches(t *testing.T) {
	key, _, _ := GenerateKey()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db, err := Open(t.Context(), Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const old, fresh = 2*flowSweepBatch + 7, 3
	err = db.updateTx(t.Context(), func(tx *Tx) error {
		for i := range old + fresh {
			created := now.Add(-time.Hour)
			if i >= old {
				created = now
			}
			if err := tx.CreateFlow(t.Context(), Flow{ID: Secret(fmt.Sprint("flow-", i)), State: "s", PKCEVerifier: "p", Nonce: "n", CreatedAt: created}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two records no riscd wrote: one not JSON, one of a future version.
	err = db.bolt.Update(func(btx *bolt.Tx) error {
		b := btx.Bucket([]byte(bucketFlows))
		if err := b.Put(secretKey("garbled"), []byte("{not json")); err != nil {
			return err
		}
		return b.Put(secretKey("future"), []byte(`{"v":99}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	// One transaction reads one batch and says where the next begins.
	errRollBack := errors.New("roll back")
	err = db.updateTx(t.Context(), func(tx *Tx) error {
		sw, next, err := tx.sweepFlows(now.Add(-10*time.Minute), nil, flowSweepBatch)
		if err != nil {
			return err
		}
		if sw.Deleted+sw.Undecodable > flowSweepBatch || sw.Deleted < flowSweepBatch-5 || next == nil {
			t.Errorf("one batch: %+v, next %x; want at most %d records read and a next key", sw, next, flowSweepBatch)
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatal(err)
	}
	sw, err := db.SweepFlows(t.Context(), now.Add(-10*time.Minute))
	if err != nil {
		t.Fatalf("sweep stopped: %v", err)
	}
	if sw.Deleted != old || sw.Undecodable != 2 {
		t.Errorf("sweep %+v, want %d deleted and 2 undecodable", sw, old)
	}
	// The fresh flows are still there, and a flow can still be taken.
	if _, err := db.TakeFlow(t.Context(), Secret(fmt.Sprint("flow-", old))); err != nil {
		t.Errorf("fresh flow: %v", err)
	}
	if sw, err := db.SweepFlows(t.Context(), now.Add(-10*time.Minute)); err != nil || sw.Deleted != 0 || sw.Undecodable != 2 {
		t.Errorf("second sweep %+v %v", sw, err)
	}
}

// One undecodable flow does not stop the removal of the others.
func TestDeleteFlowsBeforeGoesPastUndecodable(t *testing.T) {
	key, _, _ := GenerateKey()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db, err := Open(t.Context(), Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 20 {
		if err := db.CreateFlow(t.Context(), Flow{ID: Secret(fmt.Sprint("f", i)), State: "s", CreatedAt: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.bolt.Update(func(btx *bolt.Tx) error {
		return btx.Bucket([]byte(bucketFlows)).Put(secretKey("garbled"), []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	n, err := db.DeleteFlowsBefore(t.Context(), now)
	if err != nil || n != 20 {
		t.Fatalf("DeleteFlowsBefore = %d, %v; want 20 removed past the undecodable record", n, err)
	}
	if err := db.updateTx(t.Context(), func(tx *Tx) error {
		_, err := tx.DeleteFlowsBefore(t.Context(), now)
		return err
	}); err != nil {
		t.Fatalf("Tx.DeleteFlowsBefore: %v", err)
	}
}
