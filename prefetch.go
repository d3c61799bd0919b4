package riscd

import "context"

// Prefetch names the rows a Batch function is about to read, so that an
// engine whose every read is a round trip to a database server can read
// them, and those of the concurrent calls sharing the transaction, in one
// round trip when the transaction starts. It is only a hint: the function
// reads what it reads, and gets the same answers with or without it.
type Prefetch struct {
	Marks []string // mark keys (ReadTx.Mark)
	// Subs are Google subs whose account, grants, sessions and app-user
	// links (ReadTx.Account, GrantsBySub, LinksOfSub; Tx.DeleteSessionsOf)
	// the function reads.
	Subs  []string
	Inbox []uint64 // inbox entry ids (ReadTx.InboxEntry)
	// Audit is about how many audit entries the function appends: an
	// engine that numbers them from a database sequence takes that many
	// numbers at once (those left unused are skipped, as a rolled-back
	// transaction's are).
	Audit int
}

// Prefetcher is implemented by a Store that can take a Prefetch (see
// BatchPrefetch).
type Prefetcher interface {
	// BatchPrefetch is Batch with p read at the start of the shared
	// transaction.
	BatchPrefetch(ctx context.Context, p Prefetch, fn func(Tx) error) error
}

// BatchPrefetch runs fn as s.Batch does, handing p to a Store that is a
// Prefetcher.
func BatchPrefetch(ctx context.Context, s Store, p Prefetch, fn func(Tx) error) error {
	if pf, ok := s.(Prefetcher); ok {
		return pf.BatchPrefetch(ctx, p, fn)
	}
	return s.Batch(ctx, fn)
}
