package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riscd/riscd"
)

// OutboxEnqueuedHere knows the jobs enqueued through this DB, not another
// replica's, until they are finished; OutboxJob reads a job.
func TestOutboxEnqueuedHere(t *testing.T) {
	ctx := context.Background()
	dbURL, key := newDatabase(t), testKey(t)
	a := openTest(t, dbURL, key, time.Now)
	b := openTest(t, dbURL, key, time.Now)
	j, err := a.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxRevoke, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if !a.OutboxEnqueuedHere(j.ID) || b.OutboxEnqueuedHere(j.ID) {
		t.Errorf("job %d enqueued here: %v by its replica, %v by another; want true, false", j.ID, a.OutboxEnqueuedHere(j.ID), b.OutboxEnqueuedHere(j.ID))
	}
	got, err := b.OutboxJob(ctx, j.ID)
	if err != nil || got.ID != j.ID || got.Status != riscd.OutboxPending || got.Key != "k" {
		t.Errorf("OutboxJob = %+v, %v; want job %d pending", got, err, j.ID)
	}
	if _, err := a.UpdateOutbox(ctx, j.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Attempts, j.NextAttemptAt = 1, time.Now().Add(time.Minute)
		return j, nil
	}); err != nil {
		t.Fatal(err)
	}
	if !a.OutboxEnqueuedHere(j.ID) {
		t.Error("a job retried later is no longer known enqueued here")
	}
	if _, err := a.UpdateOutbox(ctx, j.ID, func(j riscd.OutboxJob) (riscd.OutboxJob, error) {
		j.Status, j.DoneAt = riscd.OutboxDone, time.Now()
		return j, nil
	}); err != nil {
		t.Fatal(err)
	}
	if a.OutboxEnqueuedHere(j.ID) {
		t.Error("a finished job is still known enqueued here")
	}
	if _, err := b.OutboxJob(ctx, 1<<62); !errors.Is(err, riscd.ErrNotFound) {
		t.Errorf("OutboxJob of a missing job = %v, want ErrNotFound", err)
	}
}
