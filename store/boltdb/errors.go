package boltdb

import (
	"errors"

	"github.com/riscd/riscd"
)

// The errors callers check are package riscd's; these are their names in
// package store, the same values (errors.Is matches either name). The
// store wraps them with context (the record, the file).
var (
	ErrNotFound = riscd.ErrNotFound
	ErrExists   = riscd.ErrExists
	ErrInvalid  = riscd.ErrInvalid
	ErrWrongKey = riscd.ErrWrongKey
	ErrCorrupt  = riscd.ErrCorrupt
	ErrClosed   = riscd.ErrClosed
	ErrBusy     = riscd.ErrBusy
)

// Errors about the store file, bbolt's: check them with errors.Is.
var (
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
