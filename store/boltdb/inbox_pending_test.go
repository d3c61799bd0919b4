package boltdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
)

func TestPendingInboxAfter(t *testing.T) {
	ctx := context.Background()
	k, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	db, err := boltdb.Open(ctx, boltdb.Options{Path: t.TempDir() + "/p.db", Key: k})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ids []uint64
	for i := range 5 {
		e, _, err := db.PutInbox(ctx, riscd.InboxEntry{Iss: "https://accounts.google.com", JTI: fmt.Sprint("j", i), Raw: "x", ReceivedAt: time.Unix(1, 0)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if _, err := db.UpdateInbox(ctx, ids[2], func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		e.Status = riscd.InboxDone
		return e, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := db.PendingInboxAfter(ctx, ids[0], 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != ids[1] || got[1].ID != ids[3] {
		t.Fatalf("PendingInboxAfter(%d, 2) = %v, want ids %d and %d (done entry skipped)", ids[0], got, ids[1], ids[3])
	}
	got, _ = db.PendingInboxAfter(ctx, ids[4], 10)
	if len(got) != 0 {
		t.Errorf("after the last id: got %d entries, want 0", len(got))
	}
}
