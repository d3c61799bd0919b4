// Package riscd holds riscd's domain: the records the daemon keeps (grants,
// accounts, browser sessions and consent flows, the inbox of received
// security event tokens, the outbox of upstream revocations and webhooks,
// the audit log), the Secret type that keeps tokens out of logs, and the
// errors callers of a store check with errors.Is, and the store contract:
// Store (the unit of work, View and Update), ReadTx and Tx (what a
// transaction can read and write) and their query types, which consumers
// depend on instead of an engine's own types.
//
// Field comments name the store operations that set a field (CreateGrant,
// PutInbox, EnqueueOutbox, AppendAudit, ...): package store's methods.
//
// It imports no storage engine and no HTTP package: the bbolt engine
// (package store) converts these types to and from its own on-disk
// records, and encryption at rest is package seal. Other packages may keep
// referring to the same names through package store's aliases; both name
// the same types and the same error values.
package riscd
