package boltdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/internal/locks"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DB is an open riscd store. It is safe for concurrent use. Close it to
// release the file lock.
type DB struct {
	// Shortcuts, set to the DB itself, gives each ReadTx and Tx method as a
	// method of the DB run in its own transaction.
	riscd.Shortcuts
	// Set gives the named locks of riscd.Store: in memory, since only this
	// process can open the file.
	locks.Set

	bolt *bolt.DB
	path string
	now  func() time.Time
	log  *slog.Logger

	keysMu sync.RWMutex
	keys   *keyring

	rotateChunk int    // records per rotation transaction
	afterChunk  func() // test hook, called after each rotation transaction

	journal *inboxJournal // the inbox journal (AppendInbox)

	writerOnce sync.Once
	writer     *InboxWriter // InboxWriter's; set once
	noSync     bool         // Options.NoSync
	readOnly   bool         // opened by CheckFile: bbolt read-only, no journal
}

// Path returns the store file's path as given in Options.
func (db *DB) Path() string { return db.path }

// Close releases the file. It first moves what the inbox journal holds into
// the inbox (what it cannot is kept for the next Open), waits for running
// transactions, and is safe to call more than once.
func (db *DB) Close() error {
	jerr := db.journal.close()
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	if jerr != nil {
		return fmt.Errorf("store: close inbox journal: %w", jerr) // the file's error names it
	}
	return nil
}

func (db *DB) keyring() *keyring {
	db.keysMu.RLock()
	defer db.keysMu.RUnlock()
	return db.keys
}

func (db *DB) setKeyring(r *keyring) {
	db.keysMu.Lock()
	db.keys = r
	db.keysMu.Unlock()
}

// Tx is one store transaction. It is valid only inside the function it was
// handed to; afterwards every method fails with ErrClosed. Write methods on
// a Tx from View fail. Every method takes a context first, as every store
// call may block or do I/O; pass the one given to Update, View or Batch.
// bbolt does not use it: a transaction, once started, runs to its end.
type Tx struct {
	btx  *bolt.Tx
	keys *keyring
	now  func() time.Time
}

func (db *DB) newTx(btx *bolt.Tx) *Tx {
	return &Tx{btx: btx, keys: db.keyring(), now: db.now}
}

// bucket returns a bucket of the transaction with its fill factor set.
func (t *Tx) bucket(name string) (*bolt.Bucket, error) {
	if t.btx == nil {
		return nil, fmt.Errorf("store: transaction used after its function returned: %w", ErrClosed)
	}
	b := t.btx.Bucket([]byte(name))
	if b == nil {
		return nil, fmt.Errorf("store: bucket %s is missing: %w", name, ErrCorrupt)
	}
	b.FillPercent = fillPercent(name)
	return b, nil
}

// buckets returns several buckets at once.
func (t *Tx) buckets(names ...string) ([]*bolt.Bucket, error) {
	out := make([]*bolt.Bucket, len(names))
	for i, n := range names {
		b, err := t.bucket(n)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// run hands fn a Tx wrapping btx and closes the Tx when fn returns. A
// panic in fn becomes an error (recovered).
func (db *DB) run(btx *bolt.Tx, fn func(*Tx) error) (err error) {
	t := db.newTx(btx)
	defer func() { t.btx = nil }()
	defer recovered(db.path, db.log, &err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return fn(t)
}

// recovered turns a panic into an ErrDamaged error in *err, and logs it
// with its stack. bbolt trusts the pages it maps: a damaged page makes it
// panic (an invalid page type, an element out of bounds), or fault, which
// SetPanicOnFault turns into a panic. The transaction is rolled back, and
// only the work that reached the page fails, not the process. Call it
// deferred.
func recovered(path string, log *slog.Logger, err *error) {
	r := recover()
	if r == nil {
		return
	}
	log.Error("store transaction panicked", "path", path, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	*err = damaged(path, fmt.Sprintf("reading it panicked (%v); stop riscd and run riscd store check", r))
}

// viewTx is View with the concrete Tx, for the store's own callers.
//
// View runs fn in a read-only transaction. It returns ctx's error if ctx is
// done before it starts, ErrClosed after Close, fn's error, or ErrDamaged
// when the transaction panicked (a damaged page; see recovered). Every
// method of the Tx takes a context first: fn passes it ctx.
func (db *DB) viewTx(ctx context.Context, fn func(*Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer recovered(db.path, db.log, &err)
	return boltErr(db.bolt.View(func(btx *bolt.Tx) error { return db.run(btx, fn) }))
}

// updateTx is Update with the concrete Tx, for the store's own callers.
//
// Update runs fn in a read-write transaction, committed if fn returns nil and
// rolled back otherwise. It returns ctx's error if ctx is done before it
// starts, ErrClosed after Close, fn's error, a commit failure, or
// ErrDamaged when the transaction panicked (a damaged page; see recovered).
// Every method of the Tx takes a context first: fn passes it ctx.
func (db *DB) updateTx(ctx context.Context, fn func(*Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer recovered(db.path, db.log, &err)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return boltErr(db.bolt.Update(func(btx *bolt.Tx) error { return db.run(btx, fn) }))
}

// batchTx is Batch with the concrete Tx, for the store's own callers.
//
// Batch is Update for many concurrent callers: their functions share one
// transaction and one commit (group commit), at the cost of a short wait.
// fn may run more than once, so it must only write through its Tx and must
// reset anything it records outside before doing so. If fn fails, the others'
// work is retried without it, and its error is returned.
func (db *DB) batchTx(ctx context.Context, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return boltErr(db.bolt.Batch(func(btx *bolt.Tx) error { return db.run(btx, fn) }))
}

// View runs fn in a read-only transaction; see viewTx. It is
// riscd.Store's View.
func (db *DB) View(ctx context.Context, fn func(riscd.ReadTx) error) error {
	return db.viewTx(ctx, func(t *Tx) error { return fn(t) })
}

// Update runs fn in a read-write transaction, committed if fn returns nil and
// rolled back otherwise; see updateTx. It is riscd.Store's Update. bbolt runs
// fn once, but the contract lets an engine run it more than once: fn must
// only touch tx and have no outside effects.
func (db *DB) Update(ctx context.Context, fn func(riscd.Tx) error) error {
	return db.updateTx(ctx, func(t *Tx) error { return fn(t) })
}

// Batch is Update for many concurrent callers, sharing one commit; see
// batchTx. fn may run more than once.
func (db *DB) Batch(ctx context.Context, fn func(riscd.Tx) error) error {
	return db.batchTx(ctx, func(t *Tx) error { return fn(t) })
}

// boltErr maps bbolt's own errors to the store's sentinels.
func boltErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("store: %w", ErrClosed)
	}
	if errors.Is(err, berrors.ErrTxNotWritable) {
		return fmt.Errorf("store: write in a read-only transaction: %w", err)
	}
	return err
}

// view runs fn in a read-only transaction and returns its result.
func view[T any](ctx context.Context, db *DB, fn func(*Tx) (T, error)) (T, error) {
	var out T
	err := db.viewTx(ctx, func(t *Tx) error {
		var err error
		out, err = fn(t)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}
