// Package store keeps riscd's state in one bbolt file: OAuth grants, accounts
// (one per Google subject), browser sessions and consent-flow records, the
// inbox of received security event tokens, the outbox of upstream revocations
// and webhooks, and the audit log.
//
// The API is narrow and transactional. Every read-modify-write goes through a
// function applied inside one bbolt transaction (UpdateGrant, UpdateAccount,
// ...), and DB.Update lets a caller group several writes, such as an action and
// its audit entry, into one commit. No bbolt type leaves this package: callers
// see *Tx, which wraps one transaction and is valid only inside the function it
// was handed to.
//
// Refresh tokens, access tokens and other secrets are encrypted at rest with
// AES-256-GCM. Each ciphertext names the key that sealed it, so a store can be
// re-encrypted under a new key (RotateKey) while records sealed under an older
// key stay readable. Plaintext tokens are never written to disk; the lookups
// Google's token-revoked events need use hashes kept in index buckets updated in
// the same transaction as the grant.
//
// Errors: ErrNotFound when a record does not exist, ErrExists when a unique key
// is taken, ErrLocked when another process holds the file, ErrNotStore and
// ErrNewerSchema when the file is not one this riscd can open, ErrWrongKey when
// none of the configured keys opens the store's secrets. All are wrapped with
// context and are meant to be checked with errors.Is.
package store
