package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd/store"
)

// TestPrune: Prune removes the inbox entries and outbox jobs done before
// the cutoff, keeps everything else, leaves a store that passes its check,
// and a SET whose entry it removed can be stored again.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cutoff := t0.Add(30 * 24 * time.Hour)
	path := filepath.Join(t.TempDir(), "s.db")
	key := mustKey(t)
	db := mustOpen(t, store.Options{Path: path, Key: key, Now: func() time.Time { return cutoff.Add(7 * 24 * time.Hour) }})

	type entry struct {
		jti      string
		received time.Time
		status   store.InboxStatus
		done     time.Time
		pruned   bool
	}
	entries := []entry{
		{"old-done", t0, store.InboxDone, t0.Add(time.Minute), true},
		{"old-parked", t0.Add(time.Hour), store.InboxParked, time.Time{}, false},
		{"old-pending", t0.Add(2 * time.Hour), store.InboxPending, time.Time{}, false},
		{"old-done-late", t0.Add(3 * time.Hour), store.InboxDone, cutoff.Add(time.Hour), false},
		{"old-done-no-time", t0.Add(4 * time.Hour), store.InboxDone, time.Time{}, true},
		{"new-done", cutoff.Add(time.Hour), store.InboxDone, cutoff.Add(2 * time.Hour), false},
	}
	// Many more old done entries than one transaction removes.
	for i := range 1200 {
		entries = append(entries, entry{fmt.Sprint("bulk-", i), t0.Add(5 * time.Hour), store.InboxDone, t0.Add(6 * time.Hour), true})
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return a.received.Compare(b.received) })
	err := db.Update(ctx, func(tx *store.Tx) error {
		for _, e := range entries {
			stored, _, err := tx.PutInbox(store.InboxEntry{Iss: "https://accounts.google.com", JTI: e.jti, Subject: "iss-sub:alice", Raw: "raw-" + e.jti, ReceivedAt: e.received})
			if err != nil {
				return err
			}
			stored.Status, stored.DoneAt = e.status, e.done
			if err := tx.PutInboxEntry(stored); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	type job struct {
		created time.Time
		status  store.OutboxStatus
		done    time.Time
		pruned  bool
	}
	jobs := []job{
		{t0, store.OutboxDone, t0.Add(time.Minute), true},
		{t0, store.OutboxFailed, t0.Add(time.Minute), false},
		{t0, store.OutboxPending, time.Time{}, false},
		{t0, store.OutboxDone, cutoff.Add(time.Minute), false},
		{cutoff.Add(time.Hour), store.OutboxDone, cutoff.Add(2 * time.Hour), false},
	}
	jobIDs := make([]uint64, len(jobs))
	for i, j := range jobs {
		stored, err := db.EnqueueOutbox(ctx, store.OutboxJob{Kind: store.OutboxWebhook, Key: "k", CreatedAt: j.created, Status: j.status, DoneAt: j.done})
		if err != nil {
			t.Fatal(err)
		}
		jobIDs[i] = stored.ID
	}
	if _, err := db.AppendAudit(ctx, store.AuditEntry{At: t0, Sub: "alice", Action: "end_sessions"}); err != nil {
		t.Fatal(err)
	}

	n, err := db.Prune(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Pruned{Events: 1202, Jobs: 1}); n != want {
		t.Errorf("Prune = %+v, want %+v", n, want)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after Prune: %v", err)
	}
	for _, e := range entries {
		_, err := db.InboxByJTI(ctx, "https://accounts.google.com", e.jti)
		if gone := errors.Is(err, store.ErrNotFound); gone != e.pruned || (err != nil && !gone) {
			t.Errorf("%s: lookup error %v, want pruned=%v", e.jti, err, e.pruned)
		}
	}
	for i, j := range jobs {
		_, err := db.OutboxJob(ctx, jobIDs[i])
		if gone := errors.Is(err, store.ErrNotFound); gone != j.pruned || (err != nil && !gone) {
			t.Errorf("job %d (%s): lookup error %v, want pruned=%v", i, j.status, err, j.pruned)
		}
	}
	if got, want := listIDs(t, db, store.InboxQuery{Subject: "iss-sub:alice"}), 4; len(got) != want {
		t.Errorf("alice's entries after Prune: %d, want %d", len(got), want)
	}
	if audit, _, err := db.ListAudit(ctx, store.AuditQuery{}); err != nil || len(audit) != 1 {
		t.Errorf("audit after Prune: %d entries (%v), want the one kept", len(audit), err)
	}
	if again, _ := db.Prune(ctx, cutoff); again != (store.Pruned{}) {
		t.Errorf("second Prune = %+v, want nothing", again)
	}

	// Google redelivers a pruned SET: it is stored as new.
	e, created, err := db.PutInbox(ctx, store.InboxEntry{Iss: "https://accounts.google.com", JTI: "old-done", Raw: "raw"})
	if err != nil || !created || e.Status != store.InboxPending {
		t.Errorf("redelivered SET: %+v created=%v %v, want a new pending entry", e, created, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.Prune(cctx, cutoff); !errors.Is(err, context.Canceled) {
		t.Errorf("Prune with a cancelled context: %v", err)
	}
}
