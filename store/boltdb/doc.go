// Package boltdb is riscd's embedded store engine. It keeps riscd's state in one bbolt file: OAuth grants, accounts
// (one per Google subject), browser sessions and consent-flow records, the
// inbox of received security event tokens, the outbox of upstream revocations
// and webhooks, and the audit log.
//
// The API is narrow and transactional. Every read-modify-write goes through a
// function applied inside one bbolt transaction (UpdateGrant, UpdateAccount,
// ...), and DB.Update lets a caller group several writes, such as an action and
// its audit entry, into one commit. No bbolt type leaves this package: callers
// see *Tx, which wraps one transaction and is valid only inside the function it
// was handed to. *DB satisfies riscd.Store and *Tx riscd.Tx: DB.View hands fn
// a riscd.ReadTx, DB.Update and DB.Batch a riscd.Tx, so callers depend on the
// contract in package riscd and not on this engine. Everything a Tx returns is a copy that outlives it. Like
// every DB method, every Tx method takes a context.Context first.
//
// On disk, each record is a versioned JSON document of its own (separate
// from the domain types, which are converted to and from it), under a key
// chosen for the bucket's access pattern. The file carries a format marker
// and a schema version: Open refuses, without modifying it, a file that is
// not a riscd store or that a newer riscd wrote. Times come back in UTC with
// nanosecond precision.
//
// Refresh tokens, access tokens and other secrets are encrypted at rest with
// AES-256-GCM by package seal (Key, ParseKey and GenerateKey here are
// seal's). Each ciphertext names the key that sealed it and is bound to
// its bucket, record and field, so a store can be re-encrypted under a new key
// (RotateKey) while records sealed under an older key stay readable, and a
// ciphertext copied elsewhere does not open. Received SETs and their claims
// are sealed too (a token-revoked event's claims carry a prefix of the
// refresh token), bound to the entry's (iss, jti); see inbox_seal.go.
// Plaintext tokens are never written to disk; the lookups Google's token-revoked events need use hashes
// (SHA-512 twice of the refresh token; SHA-256 of its 16-character prefix)
// kept in index buckets updated in the same transaction as the grant. Session
// and flow IDs are bearer secrets too: records are keyed by their SHA-256.
//
// Received SETs take a faster way in: InboxWriter's PutInbox group-commits
// concurrent calls (inbox_writer.go), and AppendInbox makes each group
// durable with one contiguous write and one fdatasync of the inbox journal,
// two files beside the store (JournalPaths) written in turn, and a
// background applier moves them into the inbox buckets in large
// transactions. Open replays what a crash
// left in the journal; duplicates are dropped by (iss, jti). See journal.go.
//
// The domain types the store keeps (Grant, Account, InboxEntry, ...), Secret
// and the errors callers check are package riscd's; package store names
// them too, through aliases of the same types and values.
//
// Errors: ErrNotFound when a record does not exist, ErrExists when a unique key
// is taken, ErrInvalid for arguments the store cannot accept, ErrLocked when
// another process holds the file, ErrNotStore and ErrNewerSchema when the file
// is not one this riscd can open, ErrWrongKey when none of the configured keys
// opens the store's secrets, ErrCorrupt when a record fails to decode or
// authenticate, ErrClosed after Close, ErrBusy when the inbox journal is too
// far ahead of the inbox to take more, ErrDamaged when the file is damaged
// below its records (truncated, or a page bbolt cannot read; bbolt panics
// on such a page, and the store turns that into this error). A key
// rotation left unfinished is a RotationError (ErrWrongKey) naming the new
// key. All are wrapped with context and are
// meant to be checked with errors.Is. No error message contains a secret.
package boltdb
