package boltdb

import (
	"context"
	"fmt"

	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store/internal/record"
)

// PreparedInbox is an inbox entry validated and encoded by PrepareInbox
// before its write transaction, so that a writer holding the store's single
// write lock only looks up, indexes and stores it. It is immutable; the zero
// value is not a prepared entry.
type PreparedInbox struct {
	e      InboxEntry // with its defaults and compacted Claims, ID unset
	rec    []byte     // the record as stored
	jti    []byte     // its key in the dedupe index
	key    seal.ID
	secret bool // rec holds Raw or Claims, sealed under key (zero: plaintext)
}

// stale reports whether p's record must be sealed again before it is
// stored: under a key that is not keys' primary one (a rotation since
// PrepareInbox), or not at all (an earlier riscd's journal).
func (p *PreparedInbox) stale(keys *keyring) bool {
	return p.secret && p.key != keys.Primary().RawID()
}

// Entry returns the entry as PutPreparedInbox will store it, without its
// ID: ReceivedAt and Status filled in, Claims compacted.
func (p PreparedInbox) Entry() InboxEntry { return p.e }

// stored returns the entry as stored under id, as decodeInbox would read it.
func (p PreparedInbox) stored(id uint64) InboxEntry {
	r := record.InboxOf(p.e)
	return r.Entry(id)
}

// PrepareInbox validates e and encodes it for Tx.PutPreparedInbox, outside
// any transaction (it touches no data and is safe for concurrent use). It
// sets ReceivedAt to now if zero and Status to InboxPending if empty; the ID
// is assigned by PutPreparedInbox. Errors: ErrInvalid without Iss or JTI,
// or with Claims that are not JSON in UTF-8.
func (db *DB) PrepareInbox(e InboxEntry) (PreparedInbox, error) {
	if e.Iss == "" || e.JTI == "" {
		return PreparedInbox{}, fmt.Errorf("store: prepare inbox: iss and jti are required: %w", ErrInvalid)
	}
	e = inboxDefaults(e, db.now)
	e.ID = 0
	keys := db.keyring()
	stored, data, err := encodeInbox(keys, e, nil)
	if err != nil {
		return PreparedInbox{}, fmt.Errorf("store: prepare inbox: %w", err)
	}
	e.Claims = stored.Claims
	return PreparedInbox{e: e, rec: data, jti: record.JTIKey(e.Iss, e.JTI), key: keys.Primary().RawID(), secret: e.Raw != "" || len(e.Claims) > 0}, nil
}

// PutPreparedInbox is PutInbox for an entry PrepareInbox encoded: when an
// entry with the same (Iss, JTI) exists it returns that entry and false and
// writes nothing; otherwise it stores p under the next ID and returns the
// new entry and true. Errors: ErrInvalid for a PreparedInbox that did not
// come from PrepareInbox, and those of the transaction.
func (t *Tx) PutPreparedInbox(ctx context.Context, p PreparedInbox) (InboxEntry, bool, error) {
	return t.putPreparedInbox(p)
}

// putPreparedInbox is PutPreparedInbox without a context, for the store's own code
// (integrity checks, journal replay, lookups inside other methods).
func (t *Tx) putPreparedInbox(p PreparedInbox) (InboxEntry, bool, error) {
	if p.rec == nil || p.jti == nil {
		return InboxEntry{}, false, fmt.Errorf("store: put inbox: entry not prepared: %w", ErrInvalid)
	}
	return t.putInbox(p.e, &p)
}
