// Package workqueue is riscd's one durable work queue, behind both the
// inbox dispatcher (received security events) and the lifecycle's outbox
// (upstream revocations and webhooks).
//
// Items live in a Source's store; a Queue holds in memory only what it
// needs to order them. Items of one key (a subject) run strictly one at a
// time in ID order, so a key's work keeps its arrival order; different keys
// run in parallel, up to Config.Workers at once, and a failing key holds up
// only its own later items. A failed attempt is recorded by the source and
// retried after Backoff (exponential, with jitter); after
// Config.MaxAttempts failures, an error wrapped by Permanent, or when the
// source says so (the outbox's deadline), the item is parked: kept in the
// store for an operator, never retried by itself, and the key's later
// items proceed.
//
// Notify makes a running queue read new items at once (else every
// PollInterval); Rescan makes it re-read every pending item (else every
// RescanInterval), which picks up an item an operator returned to pending
// and forgets one resolved outside the queue. Delivery is at least once:
// work must be idempotent.
//
// Several processes may work one store's items at once (riscd's replicas
// over one database): a Source that implements Claimer has each attempt
// claimed first (a named lock of the store per key, then a fresh read of
// the item), so that a key's items still run one at a time and in order
// across the processes, an item finished by one is forgotten by the others,
// and an item whose process dies is taken up by another once the lock is
// released.
package workqueue
