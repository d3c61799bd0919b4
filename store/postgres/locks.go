package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riscd/riscd"
)

// lockKey is the advisory lock key of a lock name: the first 8 bytes of
// its SHA-256.
func lockKey(name string) int64 {
	h := sha256.Sum256([]byte(name))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// TryLock takes the session advisory lock of name on a connection of the
// pool, held until release, if no session holds it.
func (db *DB) TryLock(ctx context.Context, name string) (func(), bool, error) {
	conn, err := db.acquire(ctx)
	if err != nil {
		return nil, false, err
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey(name)).Scan(&ok); err != nil {
		conn.Release()
		return nil, false, db.errorf("store: lock "+name, err)
	}
	if !ok {
		conn.Release()
		return nil, false, nil
	}
	return db.releaser(conn, name), true, nil
}

// Lock waits until it takes the lock name, or ctx is done (pgx then
// cancels the wait on the server).
func (db *DB) Lock(ctx context.Context, name string) (func(), error) {
	conn, err := db.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey(name)); err != nil {
		// The connection may have taken the lock as the wait was
		// cancelled: close it rather than return it to the pool.
		_ = conn.Hijack().Close(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, db.errorf("store: lock "+name, err)
	}
	return db.releaser(conn, name), nil
}

func (db *DB) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	if db.closed.Load() {
		return nil, fmt.Errorf("store: %w", riscd.ErrClosed)
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, db.errorf("store: lock", err)
	}
	return conn, nil
}

// heldLock is a lock taken: its connection, until released.
type heldLock struct {
	conn *pgxpool.Conn
	key  int64
}

// releaser records the lock and returns its release function, which
// unlocks and returns the connection, once; if the unlock fails the
// connection is closed, which releases the lock on the server.
func (db *DB) releaser(conn *pgxpool.Conn, name string) func() {
	h := &heldLock{conn: conn, key: lockKey(name)}
	db.locksMu.Lock()
	if db.held == nil {
		db.held = map[*heldLock]struct{}{}
	}
	db.held[h] = struct{}{}
	db.locksMu.Unlock()
	return func() {
		db.locksMu.Lock()
		_, ok := db.held[h]
		delete(db.held, h)
		db.locksMu.Unlock()
		if !ok {
			return
		}
		var unlocked bool
		err := conn.QueryRow(context.Background(), `SELECT pg_advisory_unlock($1)`, h.key).Scan(&unlocked)
		if err != nil || !unlocked {
			_ = conn.Hijack().Close(context.Background())
			return
		}
		conn.Release()
	}
}

// dropLocks closes the connections of the locks still held (at Close),
// which releases them on the server.
func (db *DB) dropLocks() {
	db.locksMu.Lock()
	held := db.held
	db.held = nil
	db.locksMu.Unlock()
	for h := range held {
		_ = h.conn.Hijack().Close(context.Background())
	}
}
