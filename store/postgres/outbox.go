package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

func openOutbox(db *DB, id int64, data []byte) (riscd.OutboxJob, error) {
	r, err := record.DecodeOutbox(uint64(id), data)
	if err != nil {
		return riscd.OutboxJob{}, err
	}
	return r.Open(db.keys, uint64(id))
}

// outboxDocOf seals j into a document.
func (t *Tx) outboxDocOf(j riscd.OutboxJob) ([]byte, error) {
	d, err := record.SealOutbox(t.keys, j)
	if err != nil {
		return nil, err
	}
	data, err := record.Encode(d)
	if err != nil {
		return nil, fmt.Errorf("store: outbox job %d: encode: %w", j.ID, err)
	}
	return data, nil
}

// enqueueOutbox inserts outbox jobs.
var enqueueOutbox = &merging{
	name: "enqueue outbox",
	one:  `INSERT INTO riscd_outbox (id, status, done_ns, doc) VALUES ($1, $2, $3, $4)`,
	many: `INSERT INTO riscd_outbox (id, status, done_ns, doc) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[])`,
	cols: []func([]any) any{column[int64](0), column[string](1), column[*int64](2), column[[]byte](3)},
}

// EnqueueOutbox stores a new outbox job; its ID is the next of the
// sequence, taken under the outbox lock so IDs commit in order.
func (t *Tx) EnqueueOutbox(ctx context.Context, j riscd.OutboxJob) (riscd.OutboxJob, error) {
	if j.Kind == "" {
		return riscd.OutboxJob{}, fmt.Errorf("store: enqueue outbox: no kind: %w", riscd.ErrInvalid)
	}
	q, err := t.w()
	if err != nil {
		return riscd.OutboxJob{}, err
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = t.now()
	}
	if j.Status == "" {
		j.Status = riscd.OutboxPending
	}
	if len(j.Payload) > 0 && !json.Valid(j.Payload) {
		return riscd.OutboxJob{}, fmt.Errorf("store: enqueue outbox: payload is not JSON: %w", riscd.ErrInvalid)
	}
	var id int64
	if err := q.QueryRow(ctx, `SELECT pg_advisory_xact_lock($1), nextval('riscd_outbox_id')`, int64(outboxLockKey)).Scan(nil, &id); err != nil {
		return riscd.OutboxJob{}, t.err("enqueue outbox", err)
	}
	j.ID = uint64(id)
	data, err := t.outboxDocOf(j)
	if err != nil {
		return riscd.OutboxJob{}, err
	}
	// A new id from the sequence: the insert cannot fail on its data, and
	// goes with the next statement.
	if err := t.laterRow(ctx, "enqueue outbox", enqueueOutbox, "", id, string(j.Status), nullNanos(j.DoneAt), data); err != nil {
		return riscd.OutboxJob{}, err
	}
	if j.Status == riscd.OutboxPending {
		t.db.own.add(j.ID, t.now())
	}
	return openOutbox(t.db, id, data)
}

// PutOutboxJob replaces the existing outbox job j.ID.
func (t *Tx) PutOutboxJob(ctx context.Context, j riscd.OutboxJob) error {
	if j.Kind == "" || j.Status == "" {
		return fmt.Errorf("store: outbox job %d: kind and status are required: %w", j.ID, riscd.ErrInvalid)
	}
	if _, err := t.w(); err != nil {
		return err
	}
	if j.ID > 1<<63-1 {
		return fmt.Errorf("store: outbox job %d: %w", j.ID, riscd.ErrNotFound)
	}
	data, err := t.outboxDocOf(j)
	if err != nil {
		return err
	}
	n, err := t.exec(ctx, fmt.Sprintf("outbox job %d", j.ID), `UPDATE riscd_outbox SET status = $2, done_ns = $3, doc = $4 WHERE id = $1`,
		int64(j.ID), string(j.Status), nullNanos(j.DoneAt), data)
	if err == nil && j.Status != riscd.OutboxPending {
		t.db.own.remove(j.ID)
	}
	if err == nil && n == 0 {
		err = fmt.Errorf("store: outbox job %d: %w", j.ID, riscd.ErrNotFound)
	}
	return err
}

func (t *Tx) jobs(ctx context.Context, what, sql string, args ...any) ([]riscd.OutboxJob, error) {
	var out []riscd.OutboxJob
	var id int64
	var data []byte
	err := t.each(ctx, what, []any{&id, &data}, func() (bool, error) {
		j, err := openOutbox(t.db, id, data)
		if err != nil {
			return false, err
		}
		out = append(out, j)
		return true, nil
	}, sql, args...)
	return out, err
}

// OutboxJob returns the outbox job id.
func (t *Tx) OutboxJob(ctx context.Context, id uint64) (riscd.OutboxJob, error) {
	if id <= 1<<63-1 {
		js, err := t.jobs(ctx, "outbox job", `SELECT id, doc FROM riscd_outbox WHERE id = $1`, int64(id))
		if err != nil || len(js) > 0 {
			return firstJob(js), err
		}
	}
	return riscd.OutboxJob{}, fmt.Errorf("store: outbox job %d: %w", id, riscd.ErrNotFound)
}

func firstJob(js []riscd.OutboxJob) riscd.OutboxJob {
	if len(js) == 0 {
		return riscd.OutboxJob{}
	}
	return js[0]
}

// PendingOutbox returns up to limit pending jobs in ID order.
func (t *Tx) PendingOutbox(ctx context.Context, limit int) ([]riscd.OutboxJob, error) {
	return t.PendingOutboxAfter(ctx, 0, limit)
}

// PendingOutboxAfter is PendingOutbox from the job after ID after on.
func (t *Tx) PendingOutboxAfter(ctx context.Context, after uint64, limit int) ([]riscd.OutboxJob, error) {
	if after >= 1<<63-1 {
		return nil, nil
	}
	return t.jobs(ctx, "pending outbox", `SELECT id, doc FROM riscd_outbox WHERE status = 'pending' AND id > $1 ORDER BY id LIMIT $2`,
		int64(after), riscd.PageLimit(limit))
}

// FailedOutbox returns up to limit jobs that failed for good, newest
// first.
func (t *Tx) FailedOutbox(ctx context.Context, limit int) ([]riscd.OutboxJob, error) {
	return t.jobs(ctx, "failed outbox", `SELECT id, doc FROM riscd_outbox WHERE status = 'failed' ORDER BY id DESC LIMIT $1`,
		riscd.PageLimit(limit))
}

// OutboxJob runs ReadTx.OutboxJob in one statement.
func (db *DB) OutboxJob(ctx context.Context, id uint64) (riscd.OutboxJob, error) {
	return readOne(ctx, db, func(t *Tx) (riscd.OutboxJob, error) { return t.OutboxJob(ctx, id) })
}

// OutboxEnqueuedHere reports whether outbox job id was enqueued through
// this DB (this replica) and not since finished through it: the
// lifecycle's outbox claims such a job at once, and leaves another
// replica's to it for a while (see lifecycle's outbox.Claim). A job
// enqueued in a transaction that did not commit is never listed, so its
// ID here does no harm; IDs enqueued more than ownJobsKeep ago are
// forgotten once many have gathered, which only makes this replica wait
// for a job of its own as for another's.
func (db *DB) OutboxEnqueuedHere(id uint64) bool { return db.own.has(id) }

// ownJobsKeep and ownJobsSweep bound DB.own: once ownJobsSweep IDs were
// added since the last sweep, those older than ownJobsKeep are dropped.
const (
	ownJobsKeep  = time.Hour
	ownJobsSweep = 4096
)

// ownJobs is DB.OutboxEnqueuedHere's set.
type ownJobs struct {
	mu    sync.Mutex
	at    map[uint64]time.Time // enqueued at
	added int                  // since the last sweep
}

func (o *ownJobs) add(id uint64, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.at == nil {
		o.at = make(map[uint64]time.Time)
	}
	o.at[id] = now
	if o.added++; o.added >= ownJobsSweep {
		o.added = 0
		for id, t := range o.at {
			if now.Sub(t) > ownJobsKeep {
				delete(o.at, id)
			}
		}
	}
}

func (o *ownJobs) remove(id uint64) {
	o.mu.Lock()
	delete(o.at, id)
	o.mu.Unlock()
}

func (o *ownJobs) has(id uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.at[id]
	return ok
}
