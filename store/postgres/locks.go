package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riscd/riscd"
)

// lockKey is the advisory lock key of a lock name: the first 8 bytes of
// its SHA-256.
func lockKey(name string) int64 {
	h := sha256.Sum256([]byte(name))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// lockStatementTimeout bounds one statement on the lock session. It is
// not the caller's context: a statement cancelled midway ends pgx's
// connection, and every lock the process holds with it.
const lockStatementTimeout = 30 * time.Second

// Lock's waits between attempts, when the lock is another process's.
const (
	lockPollMin = 10 * time.Millisecond
	lockPollMax = 250 * time.Millisecond
)

// lockSession is the connection every lock of the DB is held on: one
// PostgreSQL session of its own, outside the pool. A lock held on a pooled
// connection would keep that connection from the transactions its holder
// runs meanwhile; as many holders as the pool has connections, each waiting
// for one more, would wait for ever. Session advisory locks stack within a
// session, so which locks this process holds is kept in DB.held, and a
// name held here is refused (TryLock) or waited for (Lock) before the
// server is asked.
type lockSession struct {
	mu   sync.Mutex // one statement at a time
	cfg  *pgx.ConnConfig
	conn *pgx.Conn // nil until the first lock, and after a failure
	gen  uint64    // counts the connections: the locks of an earlier one are gone
}

// heldLock is a lock taken (or being taken) by this process.
type heldLock struct {
	key int64
	gen uint64 // the lock session's connection it was taken on
}

// query runs one lock statement on the session, connecting first if
// needed, and returns its boolean result and the connection's generation.
// A failed statement ends the connection: the server releases its locks.
func (s *lockSession) query(sql string, key int64) (bool, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), lockStatementTimeout)
	defer cancel()
	if s.conn != nil && s.conn.IsClosed() {
		s.conn = nil
	}
	if s.conn == nil {
		conn, err := pgx.ConnectConfig(ctx, s.cfg.Copy())
		if err != nil {
			return false, 0, err
		}
		s.conn = conn
		s.gen++
	}
	var ok bool
	if err := s.conn.QueryRow(ctx, sql, key).Scan(&ok); err != nil {
		_ = s.conn.Close(context.Background())
		s.conn = nil
		return false, 0, err
	}
	return ok, s.gen, nil
}

// unlock releases key if the session still holds it from connection gen;
// a failure ends the connection, which releases it on the server.
func (s *lockSession) unlock(key int64, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || s.gen != gen {
		return // gone with its connection
	}
	ctx, cancel := context.WithTimeout(context.Background(), lockStatementTimeout)
	defer cancel()
	var unlocked bool
	if err := s.conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&unlocked); err != nil || !unlocked {
		_ = s.conn.Close(context.Background())
		s.conn = nil
	}
}

// close ends the session: the server releases every lock it holds.
func (s *lockSession) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		_ = s.conn.Close(context.Background())
		s.conn = nil
	}
}

// TryLock takes the session advisory lock of name if no session holds it
// and this process does not either.
func (db *DB) TryLock(ctx context.Context, name string) (func(), bool, error) {
	if db.closed.Load() {
		return nil, false, fmt.Errorf("store: lock: %w", riscd.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	h := &heldLock{key: lockKey(name)}
	db.locksMu.Lock()
	if _, mine := db.held[name]; mine {
		db.locksMu.Unlock()
		return nil, false, nil
	}
	if db.held == nil {
		db.held = map[string]*heldLock{}
	}
	db.held[name] = h // reserved while the server is asked
	db.locksMu.Unlock()
	ok, gen, err := db.locks.query(`SELECT pg_try_advisory_lock($1)`, h.key)
	if err != nil || !ok {
		db.forget(name, h)
		return nil, false, db.errorf("store: lock "+name, err)
	}
	db.locksMu.Lock()
	h.gen = gen
	db.locksMu.Unlock()
	return db.releaser(name, h), true, nil
}

// Lock waits until it takes the lock name, or ctx is done: it tries again
// when this process releases a lock, and at growing intervals (another
// process's release is not heard).
func (db *DB) Lock(ctx context.Context, name string) (func(), error) {
	wait := lockPollMin
	for {
		db.locksMu.Lock()
		freed := db.freed
		if freed == nil {
			freed = make(chan struct{})
			db.freed = freed
		}
		db.locksMu.Unlock()
		release, ok, err := db.TryLock(ctx, name)
		if err != nil || ok {
			return release, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-freed:
		case <-t.C:
		}
		t.Stop()
		wait = min(2*wait, lockPollMax)
	}
}

// forget drops name from the locks this process holds, if h is still its
// entry, and wakes Lock's waiters; it reports whether it was.
func (db *DB) forget(name string, h *heldLock) bool {
	db.locksMu.Lock()
	defer db.locksMu.Unlock()
	if cur, ok := db.held[name]; !ok || cur != h {
		return false
	}
	delete(db.held, name)
	if db.freed != nil {
		close(db.freed)
		db.freed = nil
	}
	return true
}

// releaser returns the release function of a lock taken: it unlocks once;
// a stale call (the lock released, maybe taken again) does nothing.
func (db *DB) releaser(name string, h *heldLock) func() {
	return func() {
		db.locksMu.Lock()
		gen := h.gen
		db.locksMu.Unlock()
		if db.forget(name, h) {
			// Another caller of this process may take the name again
			// meanwhile: its pg_try_advisory_lock stacks on this one,
			// so the unlock below leaves it held for that caller.
			db.locks.unlock(h.key, gen)
		}
	}
}

// dropLocks ends the lock session (at Close), which releases every lock
// on the server.
func (db *DB) dropLocks() {
	db.locksMu.Lock()
	db.held = nil
	if db.freed != nil {
		close(db.freed)
		db.freed = nil
	}
	db.locksMu.Unlock()
	db.locks.close()
}
