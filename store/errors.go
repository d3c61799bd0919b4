package store

import "errors"

// Sentinel errors. The store wraps them with context (the record, the file);
// check them with errors.Is.
var (
	// ErrNotFound: the record does not exist (or, for a session, has expired).
	ErrNotFound = errors.New("not found")
	// ErrExists: a unique key (an ID, a refresh token, an (iss, jti) pair) is taken.
	ErrExists = errors.New("already exists")
	// ErrInvalid: the caller passed something the store cannot accept
	// (an empty ID, a malformed cursor, a digest of the wrong size).
	ErrInvalid = errors.New("invalid argument")
	// ErrLocked: another process holds the store file. The message reads
	// "store <path> is in use by another riscd".
	ErrLocked = errors.New("store is in use by another riscd")
	// ErrNotStore: the file is not a riscd store (empty, not a bbolt file, or a
	// bbolt file without riscd's metadata). The message reads
	// "<path> is not a riscd store: <reason>". The file is left untouched.
	ErrNotStore = errors.New("not a riscd store")
	// ErrNewerSchema: the file was written by a newer riscd. The message reads
	// "<path> was written by a newer riscd (schema N, this riscd reads up to M)".
	// The file is left untouched.
	ErrNewerSchema = errors.New("store written by a newer riscd")
	// ErrWrongKey: none of the configured keys opens some of the store's
	// secrets. The message names key IDs, never key material.
	ErrWrongKey = errors.New("wrong store key")
	// ErrCorrupt: a record failed to decode or to authenticate (tampering,
	// a ciphertext moved between records, or a bug).
	ErrCorrupt = errors.New("corrupt record")
	// ErrClosed: the DB was closed, or a Tx was used outside the function it
	// was handed to.
	ErrClosed = errors.New("store closed")
	// ErrBusy: the store cannot take more now (its inbox journal is far
	// ahead of the inbox); try again later.
	ErrBusy = errors.New("store busy")
	// ErrDamaged: the store file is damaged below the records: shorter than
	// its bbolt metadata says (truncated), or holding a page bbolt cannot
	// read. The message reads "<path> is damaged: <reason>; ..." and says
	// what to do. Open refuses such a file without modifying it; a
	// transaction that meets a damaged page fails with it.
	ErrDamaged = errors.New("store file damaged")
)

// fileError is an error about the store file whose message is written out in
// full (so it can read "store x.db is in use by another riscd") while
// errors.Is still finds the sentinel and any underlying cause.
type fileError struct {
	msg   string
	kind  error
	cause error
}

func (e *fileError) Error() string { return e.msg }

// Unwrap returns the sentinel and, if any, the underlying cause.
func (e *fileError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}
