package boltdb_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

// subjectIndexKeys returns the keys of a closed store's subject index.
func subjectIndexKeys(tb testing.TB, path string) [][]byte {
	tb.Helper()
	var keys [][]byte
	writeBolt(tb, path, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("inbox.by_subject")).ForEach(func(k, _ []byte) error {
			keys = append(keys, slices.Clone(k))
			return nil
		})
	})
	return keys
}

// subjectKey is a subject index key as schema 1 and 2 write it.
func subjectKey(subject string, id uint64) []byte {
	k := binary.AppendUvarint(nil, uint64(len(subject)))
	return binary.BigEndian.AppendUint64(append(k, subject...), id)
}

// mustPutSubjects stores one pending entry per subject, in order.
func mustPutSubjects(tb testing.TB, db *boltdb.DB, subjects ...string) []uint64 {
	tb.Helper()
	var ids []uint64
	for i, s := range subjects {
		e, _, err := db.PutInbox(context.Background(), riscd.InboxEntry{
			Iss: "https://accounts.google.com", JTI: fmt.Sprint("j", i), Subject: s, Raw: "x", ReceivedAt: time.Unix(1, 0),
		})
		if err != nil {
			tb.Fatalf("PutInbox: %v", err)
		}
		ids = append(ids, e.ID)
	}
	return ids
}

func mustSetStatus(tb testing.TB, db *boltdb.DB, id uint64, st riscd.InboxStatus) {
	tb.Helper()
	_, err := db.UpdateInbox(context.Background(), id, func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status = st
		return e, nil
	})
	if err != nil {
		tb.Fatalf("UpdateInbox(%d): %v", id, err)
	}
}

// listIDs pages through ListInbox with q (its Limit per page) and returns
// every ID, in order.
func listIDs(tb testing.TB, db *boltdb.DB, q riscd.InboxQuery) []uint64 {
	tb.Helper()
	var ids []uint64
	for {
		page, next, err := db.ListInbox(context.Background(), q)
		if err != nil {
			tb.Fatalf("ListInbox(%+v): %v", q, err)
		}
		for _, e := range page {
			ids = append(ids, e.ID)
		}
		if next == "" {
			return ids
		}
		q.Cursor = next
	}
}

func TestSubjectIndexSkipsPendingEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := mustOpen(t, boltdb.Options{Path: path, Key: mustKey(t)})
	ids := mustPutSubjects(t, db, "a", "b", "a")
	mustSetStatus(t, db, ids[0], riscd.InboxDone)
	mustSetStatus(t, db, ids[1], riscd.InboxParked)
	if err := db.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	got := subjectIndexKeys(t, path)
	want := [][]byte{subjectKey("a", ids[0]), subjectKey("b", ids[1])}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("subject index = %x, want %x (the done and parked entries, not the pending one)", got, want)
	}
}

func TestListInboxBySubjectMergesPendingAndIndexed(t *testing.T) {
	db := mustOpen(t, boltdb.Options{Path: filepath.Join(t.TempDir(), "s.db"), Key: mustKey(t)})
	ids := mustPutSubjects(t, db, "a", "b", "a", "a", "b", "a", "a")
	for _, i := range []int{0, 3, 4, 6} {
		mustSetStatus(t, db, ids[i], riscd.InboxDone)
	}
	for _, tc := range []struct {
		name string
		q    riscd.InboxQuery
		want []uint64
	}{
		{"subject, one per page", riscd.InboxQuery{Subject: "a", Limit: 1}, []uint64{ids[6], ids[5], ids[3], ids[2], ids[0]}},
		{"subject, two per page", riscd.InboxQuery{Subject: "a", Limit: 2}, []uint64{ids[6], ids[5], ids[3], ids[2], ids[0]}},
		{"subject and pending", riscd.InboxQuery{Subject: "a", Status: riscd.InboxPending, Limit: 1}, []uint64{ids[5], ids[2]}},
		{"subject and done", riscd.InboxQuery{Subject: "a", Status: riscd.InboxDone}, []uint64{ids[6], ids[3], ids[0]}},
		{"other subject", riscd.InboxQuery{Subject: "b"}, []uint64{ids[4], ids[1]}},
		{"unknown subject", riscd.InboxQuery{Subject: "c"}, nil},
		{"from a cursor", riscd.InboxQuery{Subject: "a", Cursor: fmt.Sprint(ids[3])}, []uint64{ids[2], ids[0]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := listIDs(t, db, tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSchema1StoreIsUpgradedAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	key := mustKey(t)
	db := mustOpen(t, boltdb.Options{Path: path, Key: key})
	ids := mustPutSubjects(t, db, "a", "a", "a")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// As schema 1 wrote it: pending entries in the subject index too.
	writeBolt(t, path, func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1")); err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.Bucket([]byte("inbox.by_subject")).Put(subjectKey("a", id), nil); err != nil {
				return err
			}
		}
		return nil
	})

	db = mustOpen(t, boltdb.Options{Path: path, Key: key})
	if err := db.Check(context.Background()); err != nil {
		t.Errorf("Check of a schema 1 store: %v", err)
	}
	if got, want := listIDs(t, db, riscd.InboxQuery{Subject: "a", Limit: 1}), []uint64{ids[2], ids[1], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("ids = %v, want %v, each once", got, want)
	}
	mustSetStatus(t, db, ids[0], riscd.InboxDone)
	_, err := db.UpdateInbox(context.Background(), ids[1], func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Attempts++ // still pending
		return e, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Check(context.Background()); err != nil {
		t.Errorf("Check after updates: %v", err)
	}
	if got, want := listIDs(t, db, riscd.InboxQuery{Subject: "a"}), []uint64{ids[2], ids[1], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("ids after updates = %v, want %v", got, want)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	if schema, want := storedSchema(t, path), fmt.Sprint(boltdb.SchemaVersion); schema != want {
		t.Errorf("schema after open = %q, want %q", schema, want)
	}
	got := subjectIndexKeys(t, path)
	want := [][]byte{subjectKey("a", ids[0]), subjectKey("a", ids[2])}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("subject index = %x, want %x: the done entry, and the untouched schema 1 leftover", got, want)
	}
}
