package boltdb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/boltdb"
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
	db := mustOpen(t, boltdb.Options{Path: path, Key: key, Now: func() time.Time { return cutoff.Add(7 * 24 * time.Hour) }})

	type entry struct {
		jti      string
		received time.Time
		status   riscd.InboxStatus
		done     time.Time
		pruned   bool
	}
	entries := []entry{
		{"old-done", t0, riscd.InboxDone, t0.Add(time.Minute), true},
		{"old-parked", t0.Add(time.Hour), riscd.InboxParked, time.Time{}, false},
		{"old-pending", t0.Add(2 * time.Hour), riscd.InboxPending, time.Time{}, false},
		{"old-done-late", t0.Add(3 * time.Hour), riscd.InboxDone, cutoff.Add(time.Hour), false},
		{"old-done-no-time", t0.Add(4 * time.Hour), riscd.InboxDone, time.Time{}, true},
		{"new-done", cutoff.Add(time.Hour), riscd.InboxDone, cutoff.Add(2 * time.Hour), false},
	}
	// Many more old done entries than one transaction removes.
	for i := range 1200 {
		entries = append(entries, entry{fmt.Sprint("bulk-", i), t0.Add(5 * time.Hour), riscd.InboxDone, t0.Add(6 * time.Hour), true})
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return a.received.Compare(b.received) })
	err := db.Update(ctx, func(tx riscd.Tx) error {
		for _, e := range entries {
			stored, _, err := tx.PutInbox(ctx, riscd.InboxEntry{Iss: "https://accounts.google.com", JTI: e.jti, Subject: "iss-sub:alice", Raw: "raw-" + e.jti, ReceivedAt: e.received})
			if err != nil {
				return err
			}
			stored.Status, stored.DoneAt = e.status, e.done
			if err := tx.PutInboxEntry(ctx, stored); err != nil {
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
		status  riscd.OutboxStatus
		done    time.Time
		pruned  bool
	}
	jobs := []job{
		{t0, riscd.OutboxDone, t0.Add(time.Minute), true},
		{t0, riscd.OutboxFailed, t0.Add(time.Minute), false},
		{t0, riscd.OutboxPending, time.Time{}, false},
		{t0, riscd.OutboxDone, cutoff.Add(time.Minute), false},
		{cutoff.Add(time.Hour), riscd.OutboxDone, cutoff.Add(2 * time.Hour), false},
	}
	jobIDs := make([]uint64, len(jobs))
	for i, j := range jobs {
		stored, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "k", CreatedAt: j.created, Status: j.status, DoneAt: j.done})
		if err != nil {
			t.Fatal(err)
		}
		jobIDs[i] = stored.ID
	}
	if _, err := db.AppendAudit(ctx, riscd.AuditEntry{At: t0, Sub: "alice", Action: "end_sessions"}); err != nil {
		t.Fatal(err)
	}

	n, err := db.Prune(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if want := (riscd.Pruned{Events: 1202, Jobs: 1}); n != want {
		t.Errorf("Prune = %+v, want %+v", n, want)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after Prune: %v", err)
	}
	for _, e := range entries {
		_, err := db.InboxByJTI(ctx, "https://accounts.google.com", e.jti)
		if gone := errors.Is(err, riscd.ErrNotFound); gone != e.pruned || (err != nil && !gone) {
			t.Errorf("%s: lookup error %v, want pruned=%v", e.jti, err, e.pruned)
		}
	}
	for i, j := range jobs {
		_, err := db.OutboxJob(ctx, jobIDs[i])
		if gone := errors.Is(err, riscd.ErrNotFound); gone != j.pruned || (err != nil && !gone) {
			t.Errorf("job %d (%s): lookup error %v, want pruned=%v", i, j.status, err, j.pruned)
		}
	}
	if got, want := listIDs(t, db, riscd.InboxQuery{Subject: "iss-sub:alice"}), 4; len(got) != want {
		t.Errorf("alice's entries after Prune: %d, want %d", len(got), want)
	}
	if audit, _, err := db.ListAudit(ctx, riscd.AuditQuery{}); err != nil || len(audit) != 1 {
		t.Errorf("audit after Prune: %d entries (%v), want the one kept", len(audit), err)
	}
	if again, _ := db.Prune(ctx, cutoff); again != (riscd.Pruned{}) {
		t.Errorf("second Prune = %+v, want nothing", again)
	}

	// Google redelivers a pruned SET: it is stored as new.
	e, created, err := db.PutInbox(ctx, riscd.InboxEntry{Iss: "https://accounts.google.com", JTI: "old-done", Raw: "raw"})
	if err != nil || !created || e.Status != riscd.InboxPending {
		t.Errorf("redelivered SET: %+v created=%v %v, want a new pending entry", e, created, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.Prune(cctx, cutoff); !errors.Is(err, context.Canceled) {
		t.Errorf("Prune with a cancelled context: %v", err)
	}
}

// TestPruneRandomized prunes stores of random events and jobs at random
// cutoffs: exactly the entries and jobs done before the cutoff go, every
// other record stays, and the store passes its check after each pass.
func TestPruneRandomized(t *testing.T) {
	ctx := context.Background()
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			db := mustOpen(t, boltdb.Options{Path: filepath.Join(t.TempDir(), "s.db"), Key: mustKey(t), Now: func() time.Time { return t0 }})
			statuses := []riscd.InboxStatus{riscd.InboxDone, riscd.InboxDone, riscd.InboxDone, riscd.InboxPending, riscd.InboxParked}
			jobStatuses := []riscd.OutboxStatus{riscd.OutboxDone, riscd.OutboxDone, riscd.OutboxPending, riscd.OutboxFailed}
			type rec struct {
				id       uint64
				done     bool
				doneAt   time.Time
				received time.Time
			}
			var events, jobs []rec
			at := t0
			err := db.Update(ctx, func(tx riscd.Tx) error {
				for i := range 300 + rng.IntN(900) {
					at = at.Add(time.Duration(rng.IntN(120)) * time.Minute)
					st := statuses[rng.IntN(len(statuses))]
					e := riscd.InboxEntry{Iss: "https://accounts.google.com", JTI: fmt.Sprint("j", i), Subject: fmt.Sprint("iss-sub:", rng.IntN(20)), Raw: "raw", ReceivedAt: at, Status: st}
					if st == riscd.InboxDone && rng.IntN(10) > 0 {
						e.DoneAt = at.Add(time.Duration(rng.IntN(72)) * time.Hour)
					}
					stored, _, err := tx.PutInbox(ctx, e)
					if err != nil {
						return err
					}
					done := e.DoneAt
					if done.IsZero() {
						done = at
					}
					events = append(events, rec{stored.ID, st == riscd.InboxDone, done, at})
					js := jobStatuses[rng.IntN(len(jobStatuses))]
					j := riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: "k", CreatedAt: at, Status: js}
					if js != riscd.OutboxPending {
						j.DoneAt = at.Add(time.Duration(rng.IntN(48)) * time.Hour)
					}
					sj, err := tx.EnqueueOutbox(ctx, j)
					if err != nil {
						return err
					}
					jobs = append(jobs, rec{sj.ID, js == riscd.OutboxDone, j.DoneAt, at})
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			span := at.Sub(t0)
			gone := map[uint64]bool{}
			goneJobs := map[uint64]bool{}
			for pass := range 3 {
				cutoff := t0.Add(time.Duration(rng.Int64N(int64(span))) * time.Duration(pass+1) / 3)
				n, err := db.Prune(ctx, cutoff)
				if err != nil {
					t.Fatal(err)
				}
				want := riscd.Pruned{}
				for _, e := range events {
					if !gone[e.id] && e.done && e.doneAt.Before(cutoff) {
						gone[e.id] = true
						want.Events++
					}
				}
				for _, j := range jobs {
					if !goneJobs[j.id] && j.done && j.doneAt.Before(cutoff) {
						goneJobs[j.id] = true
						want.Jobs++
					}
				}
				if n != want {
					t.Errorf("pass %d (cutoff %s): Prune = %+v, want %+v", pass, cutoff.Sub(t0), n, want)
				}
				if err := db.Check(ctx); err != nil {
					t.Fatalf("pass %d: Check: %v", pass, err)
				}
			}
			for _, e := range events {
				_, err := db.InboxByJTI(ctx, "https://accounts.google.com", fmt.Sprint("j", e.id-1))
				if errors.Is(err, riscd.ErrNotFound) != gone[e.id] {
					t.Errorf("event %d: lookup %v, want gone=%v", e.id, err, gone[e.id])
				}
			}
			for _, j := range jobs {
				_, err := db.OutboxJob(ctx, j.id)
				if errors.Is(err, riscd.ErrNotFound) != goneJobs[j.id] {
					t.Errorf("job %d: lookup %v, want gone=%v", j.id, err, goneJobs[j.id])
				}
			}
		})
	}
}
