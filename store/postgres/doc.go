// Package postgres is riscd's PostgreSQL store engine: the store several
// stateless riscd replicas share. *DB satisfies riscd.DB and *Tx riscd.Tx;
// consumers depend on package riscd, never on this package.
//
// Schema. Migrations are SQL files embedded in the binary (migrations/),
// applied at Open by goose under a PostgreSQL session advisory lock, so that
// replicas starting together migrate once. A database whose schema is newer
// than this binary knows is refused (ErrNewerSchema) without changes.
//
// Records. Each row holds a versioned JSON document (doc) plus the columns
// its lookups need. Secrets (refresh and access tokens, CSRF tokens, flow
// secrets, received SETs and their claims, revocation tokens) are sealed
// by package seal, each ciphertext bound to its table, record and field;
// lookups by a secret use hashes of it (riscd.RefreshTokenDigest, SHA-256
// of the refresh token's 16-character prefix, SHA-256 of session and flow
// ids), so a dump of the database holds no token in the clear. The ids of
// the keys that sealed data are recorded with a check value each: Open
// with a key set that cannot open them fails with riscd.ErrWrongKey.
//
// Transactions. Update runs fn in a SERIALIZABLE transaction and runs it
// again when PostgreSQL reports a serialization failure or a deadlock
// (SQLSTATE 40001, 40P01), up to maxAttempts times in all; View runs fn in a
// read-only REPEATABLE READ transaction (one snapshot, which a read-only
// transaction never has to retry). Batch runs the concurrent calls of the
// process one batch at a time, each batch one SERIALIZABLE transaction (see
// batcher: B-tree predicate locks cover whole index pages, so concurrent
// transactions about neighbouring keys failed to serialize). The one-statement
// lookups of the hot paths (GrantByRefreshDigest, Session, AdminSession,
// PendingInboxAfter, ...) run as a single statement on the pool when
// called on the DB: one round trip, one snapshot.
//
// Round trips. A write transaction keeps the rows it read or wrote
// (rowCache), queues the writes whose answer nobody needs and sends them
// with its next statement, the rows of one kind as one statement (pipe,
// merging), and takes audit ids from their sequence several at a time. A
// Batch call may name the rows its function will read (riscd.Prefetch,
// BatchPrefetch): the batch reads those of all its calls in one round trip
// as it starts (prefetch). A deferred write that fails is blamed on the
// call that queued it.
//
// Inbox. Inbox().PutInbox group-commits: concurrent calls in one process
// share one implicit transaction, sent as one pipeline (one round trip, one
// WAL flush with synchronous_commit on). Inbox and outbox IDs come from
// sequences, which hand out numbers in call order but commit in any order;
// every insert takes a transaction-level advisory lock first (one key for
// the inbox, one for the outbox) so that IDs commit in increasing order and
// a reader scanning PendingInboxAfter never skips an ID that commits later.
// Each inbox commit also runs pg_notify('riscd_inbox'); every DB listens on
// that channel, so OnInboxApplied hears of other replicas' commits.
//
// Locks. TryLock and Lock take a PostgreSQL session advisory lock, held
// until released; the server releases it if the process or the connection
// dies. Every lock of a DB is held on one connection of its own, outside
// the pool: a lock held on a pooled connection kept that connection from
// its holder's transactions, and as many holders as the pool had
// connections, each waiting for one more, waited for ever. The DB itself
// refuses a name it holds (session locks stack within a session); Lock
// tries again when the DB releases a lock and at growing intervals.
//
// Export and Import copy every record to and from another store, of any
// engine (riscd store copy).
//
// Errors are package riscd's sentinels, wrapped. The database URL's
// password never appears in an error or a log line.
package postgres
