package riscd

import (
	"context"
	"time"
)

// ReadTx is the read half of a store transaction: every lookup and listing
// a consumer may make. Every method takes the caller's context first. A
// ReadTx is valid only inside the function it was handed to.
type ReadTx interface {
	// Account returns the account of sub; ErrNotFound if there is none.
	Account(ctx context.Context, sub string) (Account, error)
	// AccountsNeedingAttention returns up to limit accounts, in Sub order
	// after after, that carry a disablement or a pending re-check.
	AccountsNeedingAttention(ctx context.Context, after string, limit int) ([]Account, error)
	// ListAudit returns a page of audit entries, newest first, and the
	// cursor of the next page ("" after the last).
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, string, error)
	// Grant returns the grant id; ErrNotFound if there is none.
	Grant(ctx context.Context, id string) (Grant, error)
	// GrantsByVerifiedEmail returns the grants whose verified email is email.
	GrantsByVerifiedEmail(ctx context.Context, email string) ([]Grant, error)
	// GrantsBySub returns the grants of the user sub.
	GrantsBySub(ctx context.Context, sub string) ([]Grant, error)
	// GrantByRefreshDigest returns the grant whose refresh token has the
	// given digest; ErrNotFound if there is none.
	GrantByRefreshDigest(ctx context.Context, digest []byte) (Grant, error)
	// GrantsByRefreshPrefix returns the grants whose refresh token digest
	// starts with prefix.
	GrantsByRefreshPrefix(ctx context.Context, prefix string) ([]Grant, error)
	// CountGrants returns the number of grants in each status.
	CountGrants(ctx context.Context) (map[GrantStatus]int, error)
	// ListGrants returns a page of matching grants, newest first, and the
	// cursor of the next page ("" after the last).
	ListGrants(ctx context.Context, q GrantQuery) ([]Grant, string, error)
	// InboxEntry returns the inbox entry id; ErrNotFound if there is none.
	InboxEntry(ctx context.Context, id uint64) (InboxEntry, error)
	// InboxByJTI returns the entry of the SET iss and jti name.
	InboxByJTI(ctx context.Context, iss, jti string) (InboxEntry, error)
	// PendingInbox returns up to limit pending entries in arrival order.
	PendingInbox(ctx context.Context, limit int) ([]InboxEntry, error)
	// PendingInboxAfter is PendingInbox from the entry after ID after on.
	PendingInboxAfter(ctx context.Context, after uint64, limit int) ([]InboxEntry, error)
	// CountInbox returns the number of entries in status.
	CountInbox(ctx context.Context, status InboxStatus) (int, error)
	// ListInbox returns a page of matching entries, newest first, and the
	// cursor of the next page ("" after the last).
	ListInbox(ctx context.Context, q InboxQuery) ([]InboxEntry, string, error)
	// Mark returns the mark key; ErrNotFound if the work was not done.
	Mark(ctx context.Context, key string) (Mark, error)
	// OutboxJob returns the outbox job id; ErrNotFound if there is none.
	OutboxJob(ctx context.Context, id uint64) (OutboxJob, error)
	// PendingOutbox returns up to limit pending jobs in ID order.
	PendingOutbox(ctx context.Context, limit int) ([]OutboxJob, error)
	// PendingOutboxAfter is PendingOutbox from the job after ID after on.
	PendingOutboxAfter(ctx context.Context, after uint64, limit int) ([]OutboxJob, error)
	// FailedOutbox returns up to limit jobs that failed for good.
	FailedOutbox(ctx context.Context, limit int) ([]OutboxJob, error)
	// Session returns the session id; ErrNotFound if there is none or it
	// has expired.
	Session(ctx context.Context, id Secret) (Session, error)
	// AdminSession returns the admin page session id; ErrNotFound if
	// there is none or it has expired.
	AdminSession(ctx context.Context, id Secret) (AdminSession, error)
	// ConnectSession returns the connect session id, expired or not (the
	// caller judges ExpiresAt) until DeleteExpiredConnectSessions removes
	// it; ErrNotFound if there is none.
	ConnectSession(ctx context.Context, id string) (ConnectSession, error)
	// LinksOfAppUser returns the links of the app user appUser, in Sub
	// order.
	LinksOfAppUser(ctx context.Context, appUser string) ([]AppUserLink, error)
	// LinksOfSub returns the links of the account sub, in AppUser order.
	LinksOfSub(ctx context.Context, sub string) ([]AppUserLink, error)
}

// Tx is a read-write store transaction: a ReadTx plus every write. Writes
// made through it commit together when the function it was handed to
// returns nil, and none of them do otherwise.
type Tx interface {
	ReadTx

	// PutAccount creates or replaces the account a.Sub.
	PutAccount(ctx context.Context, a Account) error
	// AppendAudit appends e to the audit log and returns it with its ID.
	AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error)
	// CreateFlow stores a new consent flow.
	CreateFlow(ctx context.Context, f Flow) error
	// TakeFlow returns the flow id and deletes it, so that it is used once.
	TakeFlow(ctx context.Context, id Secret) (Flow, error)
	// DeleteFlowsBefore deletes the flows created before before and
	// returns how many.
	DeleteFlowsBefore(ctx context.Context, before time.Time) (int, error)
	// CreateGrant stores a new grant and returns it with its ID.
	CreateGrant(ctx context.Context, g Grant) (Grant, error)
	// PutGrant replaces the existing grant g.ID.
	PutGrant(ctx context.Context, g Grant) error
	// DeleteGrant deletes the grant id.
	DeleteGrant(ctx context.Context, id string) error
	// PutInbox stores a received SET unless one with its issuer and JTI is
	// already there; it reports whether it stored e.
	PutInbox(ctx context.Context, e InboxEntry) (InboxEntry, bool, error)
	// PutInboxEntry replaces the existing inbox entry e.ID.
	PutInboxEntry(ctx context.Context, e InboxEntry) error
	// PutMark records m unless its key is already marked; it reports
	// whether it recorded m.
	PutMark(ctx context.Context, m Mark) (Mark, bool, error)
	// EnqueueOutbox stores a new outbox job and returns it with its ID.
	EnqueueOutbox(ctx context.Context, j OutboxJob) (OutboxJob, error)
	// PutOutboxJob replaces the existing outbox job j.ID.
	PutOutboxJob(ctx context.Context, j OutboxJob) error
	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s Session) error
	// DeleteSession deletes the session id.
	DeleteSession(ctx context.Context, id Secret) error
	// DeleteSessionsOf deletes the sessions of sub created before
	// createdBefore and returns how many.
	DeleteSessionsOf(ctx context.Context, sub string, createdBefore time.Time) (int, error)
	// DeleteExpiredSessions deletes the expired sessions and returns how
	// many.
	DeleteExpiredSessions(ctx context.Context) (int, error)
	// CreateAdminSession stores a new admin page session: it deletes the
	// expired ones, then the oldest beyond max-1, so that at most max
	// remain with s. ErrExists if s.ID is taken.
	CreateAdminSession(ctx context.Context, s AdminSession, max int) error
	// DeleteAdminSession deletes the admin page session id (expired or
	// not); ErrNotFound if there is none.
	DeleteAdminSession(ctx context.Context, id Secret) error
	// CreateConnectSession stores a new connect session (ErrExists if its
	// ID is taken; ErrInvalid without an ID, an app user of 1 to
	// MaxAppUser bytes or an expiry).
	CreateConnectSession(ctx context.Context, s ConnectSession) error
	// PutConnectSession replaces the existing connect session s.ID, expired
	// or not (ErrNotFound if there is none).
	PutConnectSession(ctx context.Context, s ConnectSession) error
	// DeleteExpiredConnectSessions deletes the expired connect sessions and
	// returns how many.
	DeleteExpiredConnectSessions(ctx context.Context) (int, error)
	// LinkAppUser records l unless (l.AppUser, l.Sub) is linked already; it
	// returns the link as stored and whether it recorded l. CreatedAt
	// becomes now if zero. ErrInvalid for an empty Sub or an app user not
	// of 1 to MaxAppUser bytes.
	LinkAppUser(ctx context.Context, l AppUserLink) (AppUserLink, bool, error)
	// UnlinkAppUser deletes the link (appUser, sub); ErrNotFound if there
	// is none.
	UnlinkAppUser(ctx context.Context, appUser, sub string) error
}

// Store is riscd's persistent state, whatever engine keeps it: a unit of
// work (View, Update, Batch) over the ReadTx and Tx methods, plus the few
// operations that are the engine's own (accepting received SETs durably,
// pruning, counting, checking). Every engine passes the behavioural suite in
// package store/storetest, which is where this contract is specified in
// full. Errors are the sentinels of this package (ErrNotFound, ErrInvalid,
// ErrClosed, ...) wrapped; anything else is a storage failure.
type Store interface {
	// View runs fn in a read-only transaction and returns its error.
	View(ctx context.Context, fn func(ReadTx) error) error
	// Update runs fn in a read-write transaction, committed if fn returns
	// nil and rolled back otherwise. fn may run more than once (an engine
	// may retry a transaction that failed to serialize), so it must only
	// touch tx and have no outside effects; anything it records outside tx
	// it must reset when it starts.
	Update(ctx context.Context, fn func(Tx) error) error
	// Batch is Update for many concurrent callers, which may share one
	// commit (and one flush to disk). fn may run more than once, as for
	// Update, and also when another caller's fn in the same commit fails.
	Batch(ctx context.Context, fn func(Tx) error) error

	// Inbox returns the writer received SETs are accepted through: its
	// PutInbox returns only once the entry is durable, and concurrent
	// calls share commits. An accepted entry becomes visible to View a
	// moment later at most; OnInboxApplied is told when.
	Inbox() InboxWriter
	// OnInboxApplied sets fn to be called, without blocking, each time
	// entries accepted through Inbox have become visible to View: the
	// moment the dispatcher can read them.
	OnInboxApplied(fn func())

	// SweepFlows removes the consent flows created before before. A record
	// it cannot decode is counted in FlowSweep.Undecodable and left alone.
	SweepFlows(ctx context.Context, before time.Time) (FlowSweep, error)
	// Prune removes the done inbox entries and done outbox jobs finished
	// before cutoff, in short transactions.
	Prune(ctx context.Context, cutoff time.Time) (Pruned, error)
	// Count counts the store's records.
	Count(ctx context.Context) (Counts, error)
	// Check reads every record and index and returns an error naming the
	// first inconsistency (an undecodable record, an index entry without
	// its record, a ciphertext no key opens), or nil.
	Check(ctx context.Context) error
	// Health is nil when the store can accept writes, else an error naming
	// what is wrong (closed, a full disk, the database unreachable). It
	// holds no secret; /readyz reports it.
	Health(ctx context.Context) error
	// Close releases the store. Calls after Close fail with ErrClosed.
	Close() error

	// Export and Import copy a store's records to another store, of any
	// engine (riscd store copy); see Exporter and Importer.
	Exporter
	Importer

	// Locks are named mutual exclusions among every process that shares
	// the store (several replicas on one database; the bbolt engine's one
	// process). A lock is released by its release function (safe to call
	// more than once) or when its holder's process or connection dies, so
	// a crashed replica never keeps one. Locks are not reentrant: a holder
	// asking again for a lock it holds waits (Lock) or is refused
	// (TryLock) like anyone else.
	Locker
}

// Locker takes named locks; see Store.
type Locker interface {
	// TryLock takes the lock name if no one holds it and returns its
	// release function and true; it returns false at once if someone
	// does.
	TryLock(ctx context.Context, name string) (release func(), ok bool, err error)
	// Lock waits until it takes the lock name, or ctx is done.
	Lock(ctx context.Context, name string) (release func(), err error)
}

// InboxWriter accepts received SETs.
type InboxWriter interface {
	// PutInbox commits e durably under its unique (Iss, JTI) before it
	// returns. It returns the stored entry and true for a new one, the
	// existing entry and false for a duplicate, or an error when nothing
	// was committed.
	PutInbox(ctx context.Context, e InboxEntry) (InboxEntry, bool, error)
}

// Pruned is what Store.Prune removed.
type Pruned struct {
	Events int // done inbox entries
	Jobs   int // done outbox jobs
}

// Counts is how many records of each kind a store holds.
type Counts struct {
	Grants        int
	Accounts      int
	Sessions      int // including expired ones not yet deleted
	Flows         int
	InboxPending  int
	InboxDone     int
	InboxParked   int
	Inbox         int // all entries
	OutboxPending int
	OutboxFailed  int
	Outbox        int // all jobs
	Audit         int
	Marks         int
	Connect       int // connect sessions, including expired ones not yet deleted
	AppUserLinks  int
}

// Page sizes of the List* reads, the same on every engine.
const (
	// DefaultLimit is the page size when a query's Limit is zero or less.
	DefaultLimit = 100
	// MaxLimit caps a query's Limit.
	MaxLimit = 1000
)

// PageLimit is the page size a query's Limit n asks for.
func PageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// AuditQuery selects a page of the audit log.
type AuditQuery struct {
	Sub    string
	Cursor string // from a previous page; "" for the first
	Limit  int    // the store's default if <= 0, capped at its maximum
}

// GrantQuery selects a page of grants.
type GrantQuery struct {
	Sub    string
	Status GrantStatus
	Scope  string // grants whose Scopes include this scope
	Cursor string // from a previous page; "" for the first
	Limit  int    // the store's default if <= 0, capped at its maximum
	// Skip, when set, is told of each grant that cannot be decoded or
	// opened, which is then left out of the page instead of failing the
	// whole list: for loops that go through every grant and must not stop
	// at one bad record.
	Skip func(id string, err error)
}

// InboxQuery selects a page of the inbox.
type InboxQuery struct {
	Status  InboxStatus
	Subject string
	Type    string // entries whose Types include this event-type URI
	Cursor  string // from a previous page; "" for the first
	Limit   int    // the store's default if <= 0, capped at its maximum
}

// Mark records that one piece of at-least-once work was done, so that the
// same work delivered again (a security event redelivered, a handler re-run
// after a crash) is recognised and not done twice. Write it in the
// transaction that does the work: then the work and its mark commit or roll
// back together.
type Mark struct {
	Key     string    // unique, chosen by the caller; 1 to MaxMarkKey bytes
	At      time.Time // when the work was done; now if zero at PutMark
	AuditID uint64    // the audit entry describing the work; 0 if none
}

// MaxMarkKey is the longest Mark key, in bytes: every engine stores one
// this long and refuses a longer one (or an empty one) with ErrInvalid.
const MaxMarkKey = 1024

// FlowSweep is what a sweep of abandoned consent flows did.
type FlowSweep struct {
	// Deleted is how many flows it removed.
	Deleted int
	// Undecodable is how many records it could not decode and left alone
	// (riscd store check reports them).
	Undecodable int
}
