package dispatch

import (
	"context"
	"encoding/json"
	"time"

	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/workqueue"
)

// Entry is one stored SET waiting to be processed, as the Queue hands it to
// the dispatcher.
type Entry struct {
	ID          uint64        // arrival order: increasing in the order entries were committed
	Subject     string        // ordering key (SET.Key at receipt); "" orders the entry on its own
	Transmitter string        // configured name of the transmitter that sent it
	Format      events.Format // how to parse Claims
	// Claims is the verified payload (JSON). The dispatcher parses it with
	// its Registry before the first delivery.
	Claims      json.RawMessage
	Attempts    int       // failed attempts so far
	NextAttempt time.Time // not before this time; zero means now
	ReceivedAt  time.Time
}

// Queue is the dispatcher's view of the inbox; an adapter over the store
// implements it in cmd/riscd. Every method may be called from several
// goroutines at once.
type Queue interface {
	// Pending returns at most limit entries that are neither done nor
	// parked and whose ID is greater than after, in increasing ID order,
	// including entries waiting for a retry. An error means the store
	// could not be read; the dispatcher tries again later.
	Pending(ctx context.Context, after uint64, limit int) ([]Entry, error)
	// Done records that every handler succeeded for entry id. It must be
	// idempotent.
	Done(ctx context.Context, id uint64) error
	// Failed records a failed attempt: the new attempt count, the error
	// text (no secrets: handlers promise that), and when to try again; with
	// park set the entry is parked instead (kept, shown to operators,
	// never retried by itself).
	Failed(ctx context.Context, id uint64, attempts int, lastErr string, next time.Time, park bool) error
}

// Claimer is a Queue that several processes dispatch from at once (riscd's
// replicas over one database). The dispatcher claims each entry before
// handling it, and releases the claim once the outcome is recorded (Done or
// Failed), or when shutdown interrupts the handlers.
type Claimer interface {
	// Claim takes the lock that makes handling e exclusive among the
	// processes for e's subject (TryLock: it never waits), then reads e
	// again and returns it as stored now with the release of the lock. It
	// fails, with nothing to release, with an error matching ErrBusy when
	// another process holds the subject, ErrGone when e is no longer
	// pending (another process handled or parked it), ErrBehind when an
	// earlier entry of e's subject is still pending (the dispatcher reads
	// every pending entry again and handles that one first), or a store
	// error (tried again at the next poll).
	Claim(ctx context.Context, e Entry) (cur Entry, release func(), err error)
}

// Errors of Claimer.Claim.
var (
	ErrBusy   = workqueue.ErrBusy
	ErrGone   = workqueue.ErrGone
	ErrBehind = workqueue.ErrBehind
)

// Delivery is what a Handler receives: the stored entry and its parsed SET.
type Delivery struct {
	Entry Entry
	SET   *events.SET
	// Attempt counts deliveries of this entry, from 1. It is Entry.Attempts+1
	// and grows across restarts.
	Attempt int
	// Last is set for the last of the dispatcher's handlers: every other
	// one has succeeded for the entry, so once this one does the entry is
	// done. A handler that commits its effects in the store holding the
	// Queue's entries may mark the entry done in that same transaction;
	// the Queue's Done then finds it done and writes nothing.
	Last bool
}

// Handler acts on delivered events. Delivery is at least once: a crash
// between a handler's effects and the dispatcher recording success, or a
// failure of a later handler, makes the dispatcher deliver the entry again,
// so Handle must be idempotent. A nil error means the handler is done with
// the entry; any other error is retried with backoff, except one wrapped by
// Permanent, which parks the entry at once. Handle must honour ctx, which
// ends on shutdown and at Config.HandlerTimeout. Its errors are
// stored and logged, so they must not carry secrets.
type Handler interface {
	Handle(ctx context.Context, d Delivery) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, d Delivery) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, d Delivery) error { return f(ctx, d) }

// ErrPermanent is matched by errors made with Permanent.
var ErrPermanent = workqueue.ErrPermanent

// Permanent wraps err so that the dispatcher parks the entry instead of
// retrying it: for failures no retry can fix. errors.Is(Permanent(err),
// ErrPermanent) holds, and err stays reachable through errors.Is/As.
// Permanent(nil) is nil.
func Permanent(err error) error { return workqueue.Permanent(err) }
