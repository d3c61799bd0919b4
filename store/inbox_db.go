package store

import (
	"context"
	"fmt"
)

// PutInbox runs Tx.PutInbox through Batch: concurrent receivers share one
// commit. When it returns without error the entry (new or existing) is
// durable.
func (db *DB) PutInbox(ctx context.Context, e InboxEntry) (InboxEntry, bool, error) {
	var out InboxEntry
	var created bool
	err := db.batchTx(ctx, func(t *Tx) error {
		var err error
		out, created, err = t.PutInbox(ctx, e)
		return err
	})
	if err != nil {
		return InboxEntry{}, false, err
	}
	return out, created, nil
}

// The DB-level reads of single entries, counts and listings below first
// let the inbox journal's applier catch up (see readInbox), so that they
// see every entry AppendInbox acknowledged. Tx reads, and PendingInbox and
// PendingInboxAfter (the dispatcher's, woken by OnInboxApplied), see the
// inbox buckets as they are.

// readInbox waits, briefly and at best, for the journal to be applied. A
// failing applier (a full disk) does not fail the read: entries it could
// not apply yet are simply not seen.
func (db *DB) readInbox(ctx context.Context) {
	_ = db.FlushInbox(ctx)
}

// InboxEntry runs Tx.InboxEntry in its own transaction.
func (db *DB) InboxEntry(ctx context.Context, id uint64) (InboxEntry, error) {
	db.readInbox(ctx)
	return view(ctx, db, func(t *Tx) (InboxEntry, error) { return t.InboxEntry(ctx, id) })
}

// InboxByJTI runs Tx.InboxByJTI in its own transaction.
func (db *DB) InboxByJTI(ctx context.Context, iss, jti string) (InboxEntry, error) {
	db.readInbox(ctx)
	return view(ctx, db, func(t *Tx) (InboxEntry, error) { return t.InboxByJTI(ctx, iss, jti) })
}

// PutInboxEntry runs Tx.PutInboxEntry in its own transaction.
func (db *DB) PutInboxEntry(ctx context.Context, e InboxEntry) error {
	return db.updateTx(ctx, func(t *Tx) error { return t.PutInboxEntry(ctx, e) })
}

// PendingInbox runs Tx.PendingInbox in its own transaction.
func (db *DB) PendingInbox(ctx context.Context, limit int) ([]InboxEntry, error) {
	return view(ctx, db, func(t *Tx) ([]InboxEntry, error) { return t.PendingInbox(ctx, limit) })
}

// CountInbox runs Tx.CountInbox in its own transaction.
func (db *DB) CountInbox(ctx context.Context, status InboxStatus) (int, error) {
	db.readInbox(ctx)
	return view(ctx, db, func(t *Tx) (int, error) { return t.CountInbox(ctx, status) })
}

// ListInbox runs Tx.ListInbox in its own transaction.
func (db *DB) ListInbox(ctx context.Context, q InboxQuery) ([]InboxEntry, string, error) {
	db.readInbox(ctx)
	var out []InboxEntry
	var next string
	err := db.viewTx(ctx, func(t *Tx) error {
		var err error
		out, next, err = t.ListInbox(ctx, q)
		return err
	})
	return out, next, err
}

// UpdateInbox applies fn to the entry with this ID and stores the result,
// in one transaction. ID, Iss and JTI cannot change. It returns the entry as
// stored. Errors: ErrNotFound, fn's error (nothing is written), or
// PutInboxEntry's.
func (db *DB) UpdateInbox(ctx context.Context, id uint64, fn func(InboxEntry) (InboxEntry, error)) (InboxEntry, error) {
	return update(ctx, db, func(t *Tx) (InboxEntry, error) {
		e, err := t.InboxEntry(ctx, id)
		if err != nil {
			return InboxEntry{}, err
		}
		e, err = fn(e)
		if err != nil {
			return InboxEntry{}, fmt.Errorf("store: update inbox entry %d: %w", id, err)
		}
		e.ID = id
		return t.putInboxEntry(e)
	})
}
