package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
)

// maxAttempts bounds how many times Update runs fn when the transaction
// fails to serialize.
const maxAttempts = 20

// serializable begins Update's and Batch's transactions. A sequential scan
// takes a predicate lock on the whole relation (PostgreSQL 15 manual,
// 13.2.3 Serializable Isolation Level): any write to the table then
// conflicts with the transaction. The planner picks one for the equality
// lookups of a table that ANALYZE last saw small (a few accounts, marks,
// sessions), which made concurrent transactions about different subjects
// fail to serialize; with sequential scans disabled for the transaction
// those lookups use their index, whose predicate locks cover the pages
// read. SET LOCAL ends with the transaction; the begin stays one round
// trip (no arguments: pgx sends it with the simple protocol).
var serializable = pgx.TxOptions{
	IsoLevel:   pgx.Serializable,
	BeginQuery: "BEGIN ISOLATION LEVEL SERIALIZABLE; SET LOCAL enable_seqscan = off",
}

// Tx is one store transaction, valid only inside the function it was
// handed to; afterwards every method fails with riscd.ErrClosed. Write
// methods on a Tx from View fail.
type Tx struct {
	db       *DB
	tx       querier // the transaction; the pool for a one-statement read (see readOne)
	keys     *seal.Keyring
	now      func() time.Time
	readOnly bool
	inboxed  bool // an inbox entry was inserted: tell OnInboxApplied on commit

	// In a write transaction: the pipeline its deferred writes wait in
	// (tx is pipe then), the rows it read or wrote (see rowCache) and the
	// audit ids it took from the sequence and has not used yet.
	pipe      *pipe
	cache     *rowCache
	auditIDs  []int64
	auditTake int // how many ids the last take took
}

// q returns the transaction, or ErrClosed once its function has returned.
func (t *Tx) q() (querier, error) {
	if t.tx == nil {
		return nil, fmt.Errorf("store: transaction used after its function returned: %w", riscd.ErrClosed)
	}
	return t.tx, nil
}

// w is q for a write.
func (t *Tx) w() (querier, error) {
	if t.readOnly {
		return nil, errors.New("store: write in a read-only transaction")
	}
	return t.q()
}

// later queues a write whose answer nobody needs, to be sent with the
// next statement or before the commit (see pipe); outside a write
// transaction's pipeline it runs it now.
func (t *Tx) later(ctx context.Context, what, sql string, args ...any) error {
	return t.laterRow(ctx, what, &merging{one: sql}, "", args...)
}

// laterRow is later for a write of a kind that merges (see merging); a
// kind without many never merges.
func (t *Tx) laterRow(ctx context.Context, what string, kind *merging, key string, args ...any) error {
	if _, err := t.w(); err != nil {
		return err
	}
	if t.pipe == nil {
		_, err := t.exec(ctx, what, kind.one, args...)
		return err
	}
	t.pipe.laterRow(what, kind, key, args...)
	return nil
}

// err wraps a driver error.
func (t *Tx) err(what string, err error) error { return t.db.errorf("store: "+what, err) }

// View runs fn in a read-only REPEATABLE READ transaction: every read sees
// one snapshot, and a read-only transaction never fails to serialize.
func (db *DB) View(ctx context.Context, fn func(riscd.ReadTx) error) error {
	return db.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, true,
		func(t *Tx) error { return fn(t) })
}

// Update runs fn in a SERIALIZABLE transaction, committed if fn returns nil.
// PostgreSQL's serializable snapshot isolation makes the outcome that of
// some serial order of the transactions, across every replica: two
// read-modify-writes of one grant cannot both commit on stale reads. A
// transaction it aborts (serialization failure, deadlock) is run again,
// fn included, up to maxAttempts times, which the contract allows.
func (db *DB) Update(ctx context.Context, fn func(riscd.Tx) error) error {
	return db.updateTx(ctx, func(t *Tx) error { return fn(t) })
}

// SerializationRetries counts the transactions Update and Batch ran again
// after a serialization failure or a deadlock since Open: a measure of
// contention, for benchmarks and diagnostics.
func (db *DB) SerializationRetries() int64 { return db.retries.Load() }

func (db *DB) updateTx(ctx context.Context, fn func(*Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.run(ctx, serializable, false, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		db.retries.Add(1)
		// A random pause, growing with the attempts (to 100 ms at most),
		// lets the transactions that won finish first.
		pause := time.Duration(rand.Int64N(int64(min(time.Millisecond<<attempt, 100*time.Millisecond))))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// retryable reports whether err is a serialization failure or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// isUnique reports whether err is a unique violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// usable fails when the DB is closed or ctx is done.
func (db *DB) usable(ctx context.Context) error {
	if db.closed.Load() {
		return fmt.Errorf("store: %w", riscd.ErrClosed)
	}
	return ctx.Err()
}

func (db *DB) run(ctx context.Context, opts pgx.TxOptions, readOnly bool, fn func(*Tx) error) (err error) {
	if err := db.usable(ctx); err != nil {
		return err
	}
	ptx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return db.errorf("store: begin", err)
	}
	t := &Tx{db: db, tx: ptx, keys: db.keys, now: db.now, readOnly: readOnly}
	if !readOnly {
		// A read-only transaction reads each row once, as a rule, and
		// may page through a whole table: it keeps nothing.
		t.pipe = &pipe{db: db, tx: ptx}
		t.tx = t.pipe
		t.cache = newRowCache()
	}
	committed := false
	defer func() {
		t.tx = nil
		if !committed { // fn failed or panicked, or the commit failed
			_ = ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(t); err != nil {
		return err
	}
	if t.pipe != nil {
		// Writes still queued go now; a deferred write that failed
		// earlier fails the transaction even if fn went on.
		if err = t.pipe.flush(ctx); err != nil {
			return err
		}
	}
	err = ptx.Commit(ctx)
	committed = err == nil
	if err != nil {
		return db.errorf("store: commit", err)
	}
	if t.inboxed {
		db.applied.signal()
	}
	return nil
}

// querier is what Tx methods run statements on: a pgx.Tx, or the pool.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readOne runs fn, a read of one statement, on the pool without a
// transaction of its own: one statement sees one snapshot, so it reads as
// in View, in one round trip instead of three.
func readOne[T any](ctx context.Context, db *DB, fn func(*Tx) (T, error)) (T, error) {
	var zero T
	if db.closed.Load() {
		return zero, fmt.Errorf("store: %w", riscd.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	t := &Tx{db: db, tx: db.pool, keys: db.keys, now: db.now, readOnly: true}
	defer func() { t.tx = nil }()
	return fn(t)
}

// The lookups of one statement the hot paths make run through readOne.

// GrantByRefreshDigest runs ReadTx.GrantByRefreshDigest in one statement.
func (db *DB) GrantByRefreshDigest(ctx context.Context, digest []byte) (riscd.Grant, error) {
	return readOne(ctx, db, func(t *Tx) (riscd.Grant, error) { return t.GrantByRefreshDigest(ctx, digest) })
}

// GrantsByRefreshPrefix runs ReadTx.GrantsByRefreshPrefix in one statement.
func (db *DB) GrantsByRefreshPrefix(ctx context.Context, prefix string) ([]riscd.Grant, error) {
	return readOne(ctx, db, func(t *Tx) ([]riscd.Grant, error) { return t.GrantsByRefreshPrefix(ctx, prefix) })
}

// Grant runs ReadTx.Grant in one statement.
func (db *DB) Grant(ctx context.Context, id string) (riscd.Grant, error) {
	return readOne(ctx, db, func(t *Tx) (riscd.Grant, error) { return t.Grant(ctx, id) })
}

// GrantsBySub runs ReadTx.GrantsBySub in one statement.
func (db *DB) GrantsBySub(ctx context.Context, sub string) ([]riscd.Grant, error) {
	return readOne(ctx, db, func(t *Tx) ([]riscd.Grant, error) { return t.GrantsBySub(ctx, sub) })
}

// Account runs ReadTx.Account in one statement.
func (db *DB) Account(ctx context.Context, sub string) (riscd.Account, error) {
	return readOne(ctx, db, func(t *Tx) (riscd.Account, error) { return t.Account(ctx, sub) })
}

// Session runs ReadTx.Session in one statement.
func (db *DB) Session(ctx context.Context, id riscd.Secret) (riscd.Session, error) {
	return readOne(ctx, db, func(t *Tx) (riscd.Session, error) { return t.Session(ctx, id) })
}

// InboxEntry runs ReadTx.InboxEntry in one statement.
func (db *DB) InboxEntry(ctx context.Context, id uint64) (riscd.InboxEntry, error) {
	return readOne(ctx, db, func(t *Tx) (riscd.InboxEntry, error) { return t.InboxEntry(ctx, id) })
}

// ListInbox runs ReadTx.ListInbox in one statement.
func (db *DB) ListInbox(ctx context.Context, q riscd.InboxQuery) ([]riscd.InboxEntry, string, error) {
	type page struct {
		es   []riscd.InboxEntry
		next string
	}
	p, err := readOne(ctx, db, func(t *Tx) (page, error) {
		es, next, err := t.ListInbox(ctx, q)
		return page{es, next}, err
	})
	return p.es, p.next, err
}

// PendingInboxAfter runs ReadTx.PendingInboxAfter in one statement.
func (db *DB) PendingInboxAfter(ctx context.Context, after uint64, limit int) ([]riscd.InboxEntry, error) {
	return readOne(ctx, db, func(t *Tx) ([]riscd.InboxEntry, error) { return t.PendingInboxAfter(ctx, after, limit) })
}

// PendingOutboxAfter runs ReadTx.PendingOutboxAfter in one statement.
func (db *DB) PendingOutboxAfter(ctx context.Context, after uint64, limit int) ([]riscd.OutboxJob, error) {
	return readOne(ctx, db, func(t *Tx) ([]riscd.OutboxJob, error) { return t.PendingOutboxAfter(ctx, after, limit) })
}

// view runs fn in a read-only transaction and returns its result.
func view[T any](ctx context.Context, db *DB, fn func(*Tx) (T, error)) (T, error) {
	var out T
	err := db.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, true, func(t *Tx) error {
		var err error
		out, err = fn(t)
		return err
	})
	return out, err
}

// update runs fn in a read-write transaction and returns its result.
func update[T any](ctx context.Context, db *DB, fn func(*Tx) (T, error)) (T, error) {
	var out T
	err := db.updateTx(ctx, func(t *Tx) error {
		var err error
		out, err = fn(t)
		return err
	})
	return out, err
}
