package boltdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/riscd/riscd"
)

// outboxRecord is an outbox job on disk, keyed by its id.
type outboxRecord struct {
	V           int             `json:"v"`
	Kind        string          `json:"kind"`
	Key         string          `json:"key,omitempty"`
	Token       []byte          `json:"tok,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
	GrantID     string          `json:"grant,omitempty"`
	CreatedAt   stamp           `json:"ca,omitzero"`
	Deadline    stamp           `json:"deadline,omitzero"`
	Status      string          `json:"st"`
	Attempts    int             `json:"n,omitempty"`
	LastError   string          `json:"err,omitempty"`
	NextAttempt stamp           `json:"next,omitzero"`
	DoneAt      stamp           `json:"done,omitzero"`
}

func decodeOutbox(k, v []byte) (outboxRecord, error) {
	var r outboxRecord
	if err := json.Unmarshal(v, &r); err != nil || r.V < 1 || r.V > recordVersion {
		return outboxRecord{}, fmt.Errorf("store: outbox job %d: undecodable record: %w", binary.BigEndian.Uint64(k), ErrCorrupt)
	}
	return r, nil
}

func (r *outboxRecord) job(id uint64, token Secret) OutboxJob {
	return OutboxJob{
		ID:            id,
		Kind:          OutboxKind(r.Kind),
		Key:           r.Key,
		Token:         token,
		Payload:       r.Payload,
		GrantID:       r.GrantID,
		CreatedAt:     r.CreatedAt.time(),
		Deadline:      r.Deadline.time(),
		Status:        OutboxStatus(r.Status),
		Attempts:      r.Attempts,
		LastError:     r.LastError,
		NextAttemptAt: r.NextAttempt.time(),
		DoneAt:        r.DoneAt.time(),
	}
}

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
	r := outboxRecord{
		V:           recordVersion,
		Kind:        string(j.Kind),
		Key:         j.Key,
		Token:       t.keys.Seal(j.Token.Reveal(), bucketOutbox, key, "tok"),
		GrantID:     j.GrantID,
		CreatedAt:   stampOf(j.CreatedAt),
		Deadline:    stampOf(j.Deadline),
		Status:      string(j.Status),
		Attempts:    j.Attempts,
		LastError:   j.LastError,
		NextAttempt: stampOf(j.NextAttemptAt),
		DoneAt:      stampOf(j.DoneAt),
	}
	if len(j.Payload) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, j.Payload); err != nil {
			return OutboxJob{}, fmt.Errorf("store: outbox job %d: payload: %v: %w", j.ID, err, ErrInvalid)
		}
		r.Payload = buf.Bytes()
	}
	data, err := json.Marshal(&r)
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
	return r.job(j.ID, j.Token), nil
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
	r, err := decodeOutbox(key, v)
	if err != nil {
		return OutboxJob{}, err
	}
	tok, err := t.keys.Open(r.Token, bucketOutbox, key, "tok")
	if err != nil {
		return OutboxJob{}, fmt.Errorf("store: outbox job %d: %w", id, err)
	}
	return r.job(id, Secret(tok)), nil
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
	old, err := decodeOutbox(key, v)
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
