package riscd

import "errors"

// Errors a store returns, whatever its engine. A store wraps them with
// context (the record, the field); check them with errors.Is. Errors about
// one engine's file (a lock held, a file that is not a store, or damaged)
// are that engine's.
var (
	// ErrNotFound: the record does not exist (or, for a session, has expired).
	ErrNotFound = errors.New("not found")
	// ErrExists: a unique key (an ID, a refresh token, an (iss, jti) pair) is taken.
	ErrExists = errors.New("already exists")
	// ErrInvalid: the caller passed something the store cannot accept
	// (an empty ID, a malformed cursor, a digest of the wrong size).
	ErrInvalid = errors.New("invalid argument")
	// ErrWrongKey: none of the configured keys opens some of the store's
	// secrets. The message names key IDs, never key material.
	ErrWrongKey = errors.New("wrong store key")
	// ErrCorrupt: a record failed to decode or to authenticate (tampering,
	// a ciphertext moved between records, or a bug).
	ErrCorrupt = errors.New("corrupt record")
	// ErrClosed: the store was closed, or a transaction was used outside
	// the function it was handed to.
	ErrClosed = errors.New("store closed")
	// ErrBusy: the store cannot take more now (its inbox journal is far
	// ahead of the inbox); try again later.
	ErrBusy = errors.New("store busy")
)
