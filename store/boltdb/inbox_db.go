package boltdb

import (
	"context"
)

// The DB-level reads of single entries, counts and listings below first
// let the inbox journal's applier catch up (see readInbox), so that they
// see every entry AppendInbox acknowledged. Tx reads, and PendingInbox and
// PendingInboxAfter (the dispatcher's, woken by OnInboxApplied), see the
// inbox buckets as they are.

// readInbox waits, briefly and at best, for the journal to be applied. A
// failing applier (a full disk) does not fail the read: entries it could
// not apply yet are simply not seen.
func (db *DB) readInbox(ctx context.Context) {
	if db.journal == nil {
		return // read-only (CheckFile): nothing is applied
	}
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
