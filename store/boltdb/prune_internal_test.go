package boltdb

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestPruneKeepsWhatTheJournalWouldReplay: a done entry whose record is
// still in a journal file beside a record not yet applied is kept, since a
// crash then would replay it into the inbox; once the file is applied and
// starts over, the entry goes and no crash brings it back.
func TestPruneKeepsWhatTheJournalWouldReplay(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	key, _, _ := GenerateKey()
	path := filepath.Join(t.TempDir(), "riscd.db")
	db, err := Open(t.Context(), Options{Path: path, Key: key, LockTimeout: 50 * time.Millisecond, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	old := mustAppend(t, db, "old")[0].Entry
	if err := db.FlushInbox(t.Context()); err != nil {
		t.Fatal(err)
	}
	stored, err := db.InboxByJTI(t.Context(), old.Iss, "old")
	if err != nil {
		t.Fatal(err)
	}
	stored.Status, stored.DoneAt = InboxDone, clock()
	if err := db.PutInboxEntry(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(30 * 24 * time.Hour)
	mu.Unlock()
	cutoff := clock().Add(-7 * 24 * time.Hour)

	release := holdApplier(db)
	defer release()          // before Close, which waits for the applier
	mustAppend(t, db, "new") // in the same file as old's record, not applied
	n, err := db.Prune(t.Context(), cutoff)
	if err != nil || n.Events != 0 {
		t.Fatalf("Prune while the journal holds old's record beside an unapplied one: %+v %v, want nothing removed", n, err)
	}
	before := crashCopy(t, path)
	release()
	if err := db.FlushInbox(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, err = db.Prune(t.Context(), cutoff)
	if err != nil || n.Events != 1 {
		t.Fatalf("Prune once the journal is applied: %+v %v, want old removed", n, err)
	}
	after := crashCopy(t, path)

	for _, tc := range []struct {
		name    string
		path    string
		wantOld bool
	}{
		{"crash before the prune", before, true},
		{"crash after the prune", after, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openJournalTestDB(t, tc.path, key)
			defer db.Close()
			_, err := db.InboxByJTI(t.Context(), old.Iss, "old")
			if got := err == nil; got != tc.wantOld {
				t.Errorf("old in the inbox after reopening: %v (%v), want %v", got, err, tc.wantOld)
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Error(err)
			}
			if _, err := db.InboxByJTI(t.Context(), old.Iss, "new"); err != nil {
				t.Errorf("new: %v", err)
			}
			if err := db.Check(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
}
