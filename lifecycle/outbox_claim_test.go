package lifecycle

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/testkit"
	"github.com/riscd/riscd/store/boltdb"
	"github.com/riscd/riscd/workqueue"
)

// sharedStore is a store shared by replicas as the outbox sees it
// (sharedOutbox): the jobs queued through this replica are mine; it counts
// the one-statement reads and the lock attempts.
type sharedStore struct {
	riscd.DB
	mine         map[uint64]bool
	reads, locks atomic.Int32
}

func (s *sharedStore) OutboxEnqueuedHere(id uint64) bool { return s.mine[id] }

func (s *sharedStore) OutboxJob(ctx context.Context, id uint64) (riscd.OutboxJob, error) {
	s.reads.Add(1)
	return s.DB.OutboxJob(ctx, id)
}

func (s *sharedStore) TryLock(ctx context.Context, name string) (func(), bool, error) {
	s.locks.Add(1)
	return s.DB.TryLock(ctx, name)
}

// On a shared store, outbox.Claim claims a job this replica queued at once;
// it leaves a job another replica queued to it, without a read or a lock,
// until outboxClaimGrace after the job is due; then it reads the job's
// status first: a job finished elsewhere is gone and one attempted
// elsewhere waits for its retry, both without the lock; a job still
// pending and due is claimed under its lock.
func TestOutboxClaimGrace(t *testing.T) {
	ctx := context.Background()
	key, _, err := boltdb.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	clock := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	db, err := boltdb.Open(ctx, boltdb.Options{Path: filepath.Join(t.TempDir(), "riscd.db"), Key: key, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &sharedStore{DB: db, mine: map[uint64]bool{}}
	o := outbox{&Lifecycle{cfg: Config{Store: s}, now: clock.Now}}
	enqueue := func(mine bool) riscd.OutboxJob {
		t.Helper()
		j, err := db.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, CreatedAt: clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		s.mine[j.ID] = mine
		return j
	}
	// The items as Pending lists them.
	item := func(id uint64) *workqueue.Item[attemptState] {
		t.Helper()
		items, err := o.Pending(ctx, id-1, 1)
		if err != nil || len(items) != 1 || items[0].ID != id {
			t.Fatalf("Pending = %+v, %v; want job %d", items, err, id)
		}
		return &items[0]
	}
	counts := func(what string, reads, locks int32) {
		t.Helper()
		if r, l := s.reads.Swap(0), s.locks.Swap(0); r != reads || l != locks {
			t.Errorf("%s: %d reads, %d lock attempts; want %d and %d", what, r, l, reads, locks)
		}
	}
	mine, theirs, finished, attempted := enqueue(true), enqueue(false), enqueue(false), enqueue(false)
	itMine, itTheirs, itFinished, itAttempted := item(mine.ID), item(theirs.ID), item(finished.ID), item(attempted.ID)

	release, err := o.Claim(ctx, itMine)
	if err != nil {
		t.Fatalf("claim of a job this replica queued = %v", err)
	}
	release()
	counts("claim of a job this replica queued", 0, 1)
	clock.Advance(outboxClaimGrace - time.Millisecond)
	if _, err := o.Claim(ctx, itTheirs); !errors.Is(err, workqueue.ErrBusy) {
		t.Errorf("claim of another replica's job within the grace = %v, want ErrBusy", err)
	}
	counts("claim of another replica's job within the grace", 0, 0)

	// Meanwhile the other replica finished one job and failed another.
	retry := clock.Now().Add(time.Minute)
	for _, j := range []riscd.OutboxJob{finished, attempted} {
		if _, err := db.UpdateOutbox(ctx, j.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
			if j.ID == finished.ID {
				j.Status, j.DoneAt = riscd.OutboxDone, clock.Now()
			} else {
				j.Attempts, j.NextAttemptAt = 1, retry
			}
			return j, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Millisecond)
	if _, err := o.Claim(ctx, itFinished); !errors.Is(err, workqueue.ErrGone) {
		t.Errorf("claim of a job another replica finished = %v, want ErrGone", err)
	}
	counts("claim of a job another replica finished", 1, 0)
	release, err = o.Claim(ctx, itAttempted)
	if err != nil || itAttempted.Attempts != 1 || !itAttempted.NextAttempt.Equal(retry) {
		t.Errorf("claim of a job another replica attempted = %v, attempts %d, next %v; want its retry in a minute", err, itAttempted.Attempts, itAttempted.NextAttempt)
	} else {
		release()
	}
	counts("claim of a job another replica attempted", 1, 0)
	// Its retry is due, and the other replica has not retried it: after the
	// grace, this one does.
	clock.Advance(time.Minute)
	if _, err := o.Claim(ctx, itAttempted); !errors.Is(err, workqueue.ErrBusy) {
		t.Errorf("claim of another replica's retry within the grace = %v, want ErrBusy", err)
	}
	clock.Advance(outboxClaimGrace)
	release, err = o.Claim(ctx, itAttempted)
	if err != nil {
		t.Fatalf("claim of another replica's retry after the grace = %v", err)
	}
	release()
	counts("claims of another replica's retry", 1, 1)
	release, err = o.Claim(ctx, itTheirs)
	if err != nil {
		t.Fatalf("claim of another replica's job after the grace = %v", err)
	}
	release()
	counts("claim of another replica's job after the grace", 1, 1)
}
