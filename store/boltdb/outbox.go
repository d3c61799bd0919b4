package boltdb

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

// EnqueueOutbox stores a new job. It assigns the ID (increasing), sets
// CreatedAt to now if zero and Status to OutboxPending if empty, and
// returns the job as stored. ErrInvalid without a Kind or with a Payload
// that is not JSON.
func (t *Tx) EnqueueOutbox(ctx context.Context, j OutboxJob) (OutboxJob, error) {
	if j.Kind == "" {
		return OutboxJob{}, fmt.Errorf("store: enqueue outbox: no kind: %w", ErrInvalid)
	}
	b, err := t.bucket(bucketOutbox)
	if err != nil {
		return OutboxJob{}, err
	}
	id, err := b.NextSequence()
	if err != nil {
		return OutboxJob{}, fmt.Errorf("store: enqueue outbox: %w", err)
	}
	j.ID = id
	if j.CreatedAt.IsZero() {
		j.CreatedAt = t.now()
	}
	if j.Status == "" {
		j.Status = OutboxPending
	}
	return t.writeOutbox(j, "")
}

// writeOutbox writes a job and keeps the pending and failed indexes in step
// with its status (old is the stored status, "" for a new job).
func (t *Tx) writeOutbox(j OutboxJob, old OutboxStatus) (OutboxJob, error) {
	bs, err := t.buckets(bucketOutbox, bucketOutboxPending, bucketOutboxFailed)
	if err != nil {
		return OutboxJob{}, err
	}
	key := u64Key(j.ID)
	r, err := record.SealOutbox(t.keys, j)
	if err != nil {
		return OutboxJob{}, err
	}
	data, err := record.Encode(r)
	if err != nil {
		return OutboxJob{}, fmt.Errorf("store: outbox job %d: encode: %w", j.ID, err)
	}
	if err := bs[0].Put(key, data); err != nil {
		return OutboxJob{}, fmt.Errorf("store: outbox job %d: %w", j.ID, err)
	}
	for i, st := range []OutboxStatus{OutboxPending, OutboxFailed} {
		if (old == st) == (j.Status == st) {
			continue
		}
		if j.Status == st {
			err = bs[1+i].Put(key, nil)
		} else {
			err = bs[1+i].Delete(key)
		}
		if err != nil {
			return OutboxJob{}, fmt.Errorf("store: outbox job %d: %w", j.ID, err)
		}
	}
	return r.Job(j.ID, j.Token), nil
}

// OutboxJob returns the job with this ID, token decrypted. ErrNotFound if
// there is none.
func (t *Tx) OutboxJob(ctx context.Context, id uint64) (OutboxJob, error) {
	return t.outboxJob(id)
}

// outboxJob is OutboxJob without a context, for the store's own code
// (integrity checks, journal replay, lookups inside other methods).
func (t *Tx) outboxJob(id uint64) (OutboxJob, error) {
	b, err := t.bucket(bucketOutbox)
	if err != nil {
		return OutboxJob{}, err
	}
	key := u64Key(id)
	v := b.Get(key)
	if v == nil {
		return OutboxJob{}, fmt.Errorf("store: outbox job %d: %w", id, ErrNotFound)
	}
	r, err := record.DecodeOutbox(id, v)
	if err != nil {
		return OutboxJob{}, err
	}
	return r.Open(t.keys, id)
}

// PutOutboxJob replaces an existing job (matched by ID), typically to record
// an attempt or its end. Errors: ErrNotFound if it does not exist,
// ErrInvalid without Kind or Status.
func (t *Tx) PutOutboxJob(ctx context.Context, j OutboxJob) error {
	_, err := t.putOutboxJob(j)
	return err
}

func (t *Tx) putOutboxJob(j OutboxJob) (OutboxJob, error) {
	if j.Kind == "" || j.Status == "" {
		return OutboxJob{}, fmt.Errorf("store: outbox job %d: kind and status are required: %w", j.ID, ErrInvalid)
	}
	b, err := t.bucket(bucketOutbox)
	if err != nil {
		return OutboxJob{}, err
	}
	key := u64Key(j.ID)
	v := b.Get(key)
	if v == nil {
		return OutboxJob{}, fmt.Errorf("store: outbox job %d: %w", j.ID, ErrNotFound)
	}
	old, err := record.DecodeOutbox(j.ID, v)
	if err != nil {
		return OutboxJob{}, err
	}
	return t.writeOutbox(j, OutboxStatus(old.Status))
}

// PendingOutbox returns up to limit pending jobs in ID order, whatever
// their NextAttemptAt (DefaultLimit if limit <= 0, at most MaxLimit).
func (t *Tx) PendingOutbox(ctx context.Context, limit int) ([]OutboxJob, error) {
	limit = riscd.PageLimit(limit)
	idx, err := t.bucket(bucketOutboxPending)
	if err != nil {
		return nil, err
	}
	var out []OutboxJob
	err = scanAsc(idx, nil, func(k, _ []byte) (bool, error) {
		j, err := t.OutboxJob(ctx, binary.BigEndian.Uint64(k))
		if err != nil {
			return false, fmt.Errorf("store: index %s: %w", bucketOutboxPending, err)
		}
		out = append(out, j)
		return len(out) < limit, nil
	})
	return out, err
}

// FailedOutbox returns up to limit failed jobs (those given up on), newest
// first (DefaultLimit if limit <= 0, at most MaxLimit).
func (t *Tx) FailedOutbox(ctx context.Context, limit int) ([]OutboxJob, error) {
	limit = riscd.PageLimit(limit)
	idx, err := t.bucket(bucketOutboxFailed)
	if err != nil {
		return nil, err
	}
	var out []OutboxJob
	err = scanDesc(idx, nil, nil, func(k, _ []byte) (bool, error) {
		j, err := t.OutboxJob(ctx, binary.BigEndian.Uint64(k))
		if err != nil {
			return false, fmt.Errorf("store: index %s: %w", bucketOutboxFailed, err)
		}
		out = append(out, j)
		return len(out) < limit, nil
	})
	return out, err
}
