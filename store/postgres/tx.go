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

// Tx is one store transaction, valid only inside the function it was
// handed to; afterwards every method fails with riscd.ErrClosed. Write
// methods on a Tx from View fail.
type Tx struct {
	db       *DB
	tx       pgx.Tx
	keys     *seal.Keyring
	now      func() time.Time
	readOnly bool
	inboxed  bool // an inbox entry was inserted: tell OnInboxApplied on commit
}

// q returns the transaction, or ErrClosed once its function has returned.
func (t *Tx) q() (pgx.Tx, error) {
	if t.tx == nil {
		return nil, fmt.Errorf("store: transaction used after its function returned: %w", riscd.ErrClosed)
	}
	return t.tx, nil
}

// w is q for a write.
func (t *Tx) w() (pgx.Tx, error) {
	if t.readOnly {
		return nil, errors.New("store: write in a read-only transaction")
	}
	return t.q()
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

// Batch is Update: PostgreSQL commits concurrent transactions together on
// its own (commit_delay), so no batching here would save a flush.
func (db *DB) Batch(ctx context.Context, fn func(riscd.Tx) error) error {
	return db.Update(ctx, fn)
}

func (db *DB) updateTx(ctx context.Context, fn func(*Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.run(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable}, false, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
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

func (db *DB) run(ctx context.Context, opts pgx.TxOptions, readOnly bool, fn func(*Tx) error) (err error) {
	if db.closed.Load() {
		return fmt.Errorf("store: %w", riscd.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ptx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return db.errorf("store: begin", err)
	}
	t := &Tx{db: db, tx: ptx, keys: db.keys, now: db.now, readOnly: readOnly}
	defer func() {
		t.tx = nil
		if err != nil {
			_ = ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(t); err != nil {
		return err
	}
	if err = ptx.Commit(ctx); err != nil {
		return db.errorf("store: commit", err)
	}
	if t.inboxed {
		db.applied.signal()
	}
	return nil
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
