package riscd

import (
	"context"
	"crypto/sha256"
)

// Record is one stored record in the engine-neutral form Store.Export
// yields and Store.Import takes, to move a deployment from one engine to
// another: exactly one of the pointer fields is set. Every field of the
// record is kept as stored (IDs, statuses, times, attempts, an inbox
// entry's Raw and Claims, an audit entry's ID that a Mark names), secrets
// in plaintext: hold Records in memory only, never log or write them out.
//
// A store keeps only the digest of a browser session's or a consent flow's
// ID (see IDDigest), so Export cannot give the ID back: it leaves
// Session.ID or Flow.ID empty and sets IDDigest. Import takes IDDigest, or
// the IDDigest of the ID when IDDigest is nil.
//
// What a grant is indexed by (its refresh token's digest and prefix, its
// subject, status and verified email), an account's attention flag and the
// inbox's dedupe key are derived from the record: Import rebuilds them.
// Nothing else is copied: the inbox journal's unapplied entries are applied
// before Export reads, and the named locks are held by processes, not
// stored. Sign-ins to the admin pages, if the engine keeps them, are not
// copied: an operator signs in again after a copy.
type Record struct {
	Grant   *Grant
	Account *Account
	Session *Session
	Flow    *Flow
	Inbox   *InboxEntry
	Outbox  *OutboxJob
	Audit   *AuditEntry
	Mark    *Mark
	Connect *ConnectSession
	Link    *AppUserLink

	// IDDigest is, for a Session or a Flow, IDDigest(ID): the key the
	// store holds it under in place of its ID.
	IDDigest []byte
}

// IDDigest is the SHA-256 of a bearer ID (a browser session's, a consent
// flow's): what every engine keeps of such an ID, so that a copy of the
// store lets nobody in.
func IDDigest(id Secret) []byte {
	h := sha256.Sum256([]byte(id.Reveal()))
	return h[:]
}

// RecordSource hands every record of a store to fn, in turn, and returns
// fn's first error. A Store's Export is one.
type RecordSource func(ctx context.Context, fn func(Record) error) error

// Exporter is the reading half of a copy between stores; every Store is
// one.
type Exporter interface {
	// Export calls fn with every record of the store, read in one
	// consistent snapshot, and returns fn's first error (and stops there)
	// or a storage error; a record it cannot decode or open fails it,
	// naming the record (never a secret). It yields accounts, grants,
	// audit entries, marks, sessions, flows, inbox entries, outbox jobs,
	// connect sessions and app-user links, in that order, each kind in the
	// order of its key. fn must not
	// use the store Export reads.
	Export(ctx context.Context, fn func(Record) error) error
}

// Importer is the writing half of a copy between stores; every Store is
// one.
type Importer interface {
	// Import writes every record src yields into the store, which must be
	// empty: if it holds any record, Import returns an error wrapping
	// ErrExists and writes nothing. Records may come in any order. Import
	// keeps every ID, status and time as given; the store's own ID
	// sequences (inbox, outbox, audit) continue after the largest imported
	// ID, and new grants' IDs sort after the imported ones. Secrets are
	// sealed under the store's current key, and every index is built as
	// the store's own writes build it, so Check passes after an Import of
	// what another store exported.
	//
	// Import commits in transactions of bounded size, so that a large copy
	// holds no one transaction for long. If it fails midway (a record
	// ErrInvalid; a unique key, an ID or a refresh token, given twice,
	// ErrExists; src's error; a storage error), the store keeps what was
	// committed before: discard it and copy again into an empty store.
	Import(ctx context.Context, src RecordSource) error
}
