package boltdb_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

// TestSchema2GainsItsIndexes opens a file as schema 2 left it, with failed
// outbox jobs, held and flagged accounts, held grants, and none of
// outbox.failed, accounts.attention and grants.by_status: the open indexes
// them, marks the file schema 3, and the store passes its check.
func TestSchema2GainsItsIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	key := mustKey(t)
	db := mustOpen(t, boltdb.Options{Path: path, Key: key})
	var failed []uint64
	for i, st := range []riscd.OutboxStatus{riscd.OutboxFailed, riscd.OutboxPending, riscd.OutboxDone, riscd.OutboxFailed} {
		j, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Key: fmt.Sprint("k", i), Token: "tok"})
		if err != nil {
			t.Fatal(err)
		}
		if st != riscd.OutboxPending {
			j.Status = st
			if err := db.PutOutboxJob(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		if st == riscd.OutboxFailed {
			failed = append(failed, j.ID)
		}
	}
	for _, a := range []riscd.Account{{Sub: "held", Held: true}, {Sub: "plain"}, {Sub: "flagged", Flags: []string{"credential-change"}}} {
		if err := db.PutAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	var held []string
	for i, st := range []riscd.GrantStatus{riscd.GrantHeld, riscd.GrantActive, riscd.GrantHeld, riscd.GrantRevoked} {
		g, err := db.CreateGrant(ctx, riscd.Grant{Sub: fmt.Sprint("g", i), Status: st, RefreshToken: riscd.Secret(fmt.Sprint("1//0schema-three-", i))})
		if err != nil {
			t.Fatal(err)
		}
		if st == riscd.GrantHeld {
			held = append([]string{g.ID}, held...) // newest first
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	writeBolt(t, path, func(tx *bolt.Tx) error {
		for _, b := range []string{"outbox.failed", "accounts.attention", "grants.by_status"} {
			if err := tx.DeleteBucket([]byte(b)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("2"))
	})

	db = mustOpen(t, boltdb.Options{Path: path, Key: key})
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after the upgrade: %v", err)
	}
	jobs, err := db.FailedOutbox(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, j := range jobs {
		got = append(got, j.ID)
	}
	if want := []uint64{failed[1], failed[0]}; !slices.Equal(got, want) {
		t.Errorf("FailedOutbox = %v, want %v", got, want)
	}
	if st, err := db.Stats(ctx); err != nil || st.OutboxFailed != 2 || st.OutboxPending != 1 {
		t.Errorf("Stats: failed %d pending %d (%v), want 2 and 1", st.OutboxFailed, st.OutboxPending, err)
	}
	accounts, err := db.AccountsNeedingAttention(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var subs []string
	for _, a := range accounts {
		subs = append(subs, a.Sub)
	}
	if want := []string{"flagged", "held"}; !slices.Equal(subs, want) {
		t.Errorf("AccountsNeedingAttention = %q, want %q", subs, want)
	}
	grants, _, err := db.ListGrants(ctx, riscd.GrantQuery{Status: riscd.GrantHeld})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range grants {
		ids = append(ids, g.ID)
	}
	if !slices.Equal(ids, held) {
		t.Errorf("held grants %q, want %q", ids, held)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if schema, want := storedSchema(t, path), fmt.Sprint(boltdb.SchemaVersion); schema != want {
		t.Errorf("schema after open = %q, want %s", schema, want)
	}
}

// TestCheckFindsFailedIndexOutOfStep: a failed job missing from the index,
// or an index entry for a job that is not failed, fails Check.
func TestCheckFindsFailedIndexOutOfStep(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		edit func(idx *bolt.Bucket, failedKey, doneKey []byte) error
	}{
		{"failed job not indexed", func(idx *bolt.Bucket, failedKey, _ []byte) error { return idx.Delete(failedKey) }},
		{"done job indexed", func(idx *bolt.Bucket, _, doneKey []byte) error { return idx.Put(doneKey, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.db")
			key := mustKey(t)
			db := mustOpen(t, boltdb.Options{Path: path, Key: key})
			var keys [][]byte
			for _, st := range []riscd.OutboxStatus{riscd.OutboxFailed, riscd.OutboxDone} {
				j, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook})
				if err != nil {
					t.Fatal(err)
				}
				j.Status = st
				if err := db.PutOutboxJob(ctx, j); err != nil {
					t.Fatal(err)
				}
				keys = append(keys, binary.BigEndian.AppendUint64(nil, j.ID))
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			writeBolt(t, path, func(tx *bolt.Tx) error { return tc.edit(tx.Bucket([]byte("outbox.failed")), keys[0], keys[1]) })
			db = mustOpen(t, boltdb.Options{Path: path, Key: key})
			if err := db.Check(ctx); err == nil {
				t.Error("Check passed")
			}
		})
	}
}
