package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
)

// inboxQueue is the dispatcher's view of the store's inbox.
type inboxQueue struct {
	db      riscd.DB
	formats map[string]events.Format // by transmitter name
	now     func() time.Time

	// grace, on a store shared by replicas, is how long after its
	// receipt a replica that does not lead the dispatch leaves an entry
	// to the one that does (see Claim); zero for a store of this
	// process's own.
	grace time.Duration
	// leading says this replica leads the dispatch (see leadDispatch).
	leading atomic.Bool
}

// claimGrace is inboxQueue.grace on a shared store: the leading replica
// handles an entry within milliseconds of its receipt, so another that
// reads it (at a poll) leaves it alone this long before trying to claim
// it; a leader that died or hangs delays the entries this much.
const claimGrace = 2 * time.Second

// dispatchLeadInterval is how often a replica that leads the dispatch
// checks that it still does, and one that does not tries to take the lead.
const dispatchLeadInterval = time.Second

// leadDispatch keeps q.leading, until ctx is done, to whether this replica
// leads the dispatch: holds the store lock "loop:dispatch", taken or
// checked every interval (see leader). On a store shared by replicas, the
// events are handled by the leading replica, whichever received them:
// replicas that handled their own events at once ran their handlers'
// SERIALIZABLE transactions at the same time, over neighbouring rows (the
// inbox's consecutive IDs, and so index pages: PostgreSQL 15 manual,
// 13.2.3), and about half of those transactions failed to serialize and
// ran again. One replica's handlers share one transaction at a time
// (Batch) and fail no other's. The others leave each entry to the leader
// for the grace (Claim), so an event still pending then (the leader died
// or hangs) is handled all the same; and they read pending entries only at
// their polls (notified reports whether a notification reaches their
// dispatcher), not at every commit of every replica. On taking the lead a
// replica calls rescan, so that it reads every pending entry at once,
// among them those the former leader left.
func (q *inboxQueue) leadDispatch(ctx context.Context, locker riscd.Locker, log *slog.Logger, every time.Duration, rescan func()) {
	lead := newLeader(locker, "dispatch", log)
	defer func() {
		q.leading.Store(false)
		lead.resign()
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		q.leadRound(ctx, lead, rescan)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// leadRound is one round of leadDispatch.
func (q *inboxQueue) leadRound(ctx context.Context, lead *leader, rescan func()) {
	leads := lead.lead(ctx)
	if was := q.leading.Swap(leads); leads && !was {
		rescan()
	}
}

// notified returns the function that tells the dispatcher of new entries
// (Store.OnInboxApplied's): notify, except on a replica that does not lead
// the dispatch of a shared store, which reads new entries only at its
// polls.
func (q *inboxQueue) notified(notify func()) func() {
	return func() {
		if q.grace == 0 || q.leading.Load() {
			notify()
		}
	}
}

var (
	_ dispatch.Queue   = (*inboxQueue)(nil)
	_ dispatch.Claimer = (*inboxQueue)(nil)
)

func (q *inboxQueue) Pending(ctx context.Context, after uint64, limit int) ([]dispatch.Entry, error) {
	entries, err := q.db.PendingInboxAfter(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]dispatch.Entry, len(entries))
	for i, e := range entries {
		out[i] = q.entry(e)
	}
	return out, nil
}

func (q *inboxQueue) entry(e riscd.InboxEntry) dispatch.Entry {
	f, ok := q.formats[e.Transmitter]
	if !ok {
		f = events.FormatGoogle
	}
	return dispatch.Entry{
		ID:          e.ID,
		Subject:     e.Subject,
		Transmitter: e.Transmitter,
		Format:      f,
		Claims:      e.Claims,
		Attempts:    e.Attempts,
		NextAttempt: e.NextAttemptAt,
		ReceivedAt:  e.ReceivedAt,
	}
}

// inboxLock names the store lock under which an entry is handled: its
// subject's, so that one subject's events are handled one at a time by
// whichever replica, or the entry's own when it has no subject.
func inboxLock(e dispatch.Entry) string {
	if e.Subject == "" {
		return "inbox-entry:" + strconv.FormatUint(e.ID, 10)
	}
	return "inbox-subject:" + e.Subject
}

// Claim takes the entry's subject lock among every replica sharing the
// store, then reads the entry again: another replica may have handled it
// (ErrGone), or failed it (its attempts and next attempt are returned), or
// an earlier entry of the subject may still be pending, received by another
// replica and not yet read by this one (ErrBehind). The lock is held until
// the dispatcher has recorded the outcome.
//
// On a store shared by replicas, a replica that does not lead the dispatch
// leaves every entry to the leader for claimGrace after its receipt
// (ErrBusy: the dispatcher tries again at its next poll), then reads its
// status first, in one statement, so that what the leader finished costs
// no lock.
func (q *inboxQueue) Claim(ctx context.Context, e dispatch.Entry) (dispatch.Entry, func(), error) {
	if q.grace > 0 && !q.leading.Load() {
		if q.now().Before(e.ReceivedAt.Add(q.grace)) {
			return e, nil, fmt.Errorf("inbox entry %d is left to the replica leading the dispatch: %w", e.ID, dispatch.ErrBusy)
		}
		cur, err := q.db.InboxEntry(ctx, e.ID)
		switch {
		case errors.Is(err, riscd.ErrNotFound):
			return e, nil, fmt.Errorf("inbox entry %d pruned: %w", e.ID, dispatch.ErrGone)
		case err != nil:
			return e, nil, err
		case cur.Status != riscd.InboxPending:
			return e, nil, fmt.Errorf("inbox entry %d is %s: %w", e.ID, cur.Status, dispatch.ErrGone)
		}
	}
	release, ok, err := q.db.TryLock(ctx, inboxLock(e))
	if err != nil {
		return e, nil, err
	}
	if !ok {
		return e, nil, dispatch.ErrBusy
	}
	cur, err := q.current(ctx, e)
	if err != nil {
		release()
		return e, nil, err
	}
	return cur, release, nil
}

// current reads e as stored; ErrGone unless it is pending, ErrBehind when
// an earlier entry of its subject is pending. It reads without a
// transaction of its own (on PostgreSQL, one statement a read): under the
// subject's lock no other replica changes the subject's entries.
func (q *inboxQueue) current(ctx context.Context, e dispatch.Entry) (dispatch.Entry, error) {
	gone := func(what string) error { return fmt.Errorf("inbox entry %d %s: %w", e.ID, what, dispatch.ErrGone) }
	if e.Subject == "" {
		cur, err := q.db.InboxEntry(ctx, e.ID)
		switch {
		case errors.Is(err, riscd.ErrNotFound):
			return e, gone("pruned")
		case err != nil:
			return e, err
		case cur.Status != riscd.InboxPending:
			return e, gone("is " + string(cur.Status))
		}
		return q.entry(cur), nil
	}
	// The subject's pending entries, newest first (few, since each
	// subject's are handled in order): e among them if it is still
	// pending, then the earlier ones, which go first.
	var cur *riscd.InboxEntry
	lq := riscd.InboxQuery{Status: riscd.InboxPending, Subject: e.Subject, Limit: riscd.MaxLimit}
	for {
		page, next, err := q.db.ListInbox(ctx, lq)
		if err != nil {
			return e, err
		}
		for i, p := range page {
			switch {
			case p.ID == e.ID:
				cur = &page[i]
			case p.ID > e.ID:
			case cur == nil:
				return e, gone("is no longer pending")
			default:
				return e, fmt.Errorf("inbox entry %d waits for entry %d: %w", e.ID, p.ID, dispatch.ErrBehind)
			}
		}
		if next == "" {
			break
		}
		lq.Cursor = next
	}
	if cur == nil {
		return e, gone("is no longer pending")
	}
	return q.entry(*cur), nil
}

// Done marks the entry done, counting the attempt that succeeded in its
// Attempts (the failed ones are counted already), so that a finished entry
// shows the attempts made. The lifecycle's handler (Config.InboxDone) has
// usually done so already, in the transaction of the event's effects and
// mark: Done then only reads that the entry is done, in one statement
// (on PostgreSQL, no transaction of its own: one round trip instead of
// BEGIN, SELECT, COMMIT), and commits nothing. Otherwise (a dry run) it
// writes the entry, concurrent workers sharing the commit (Batch). The subject lock, held until Done returns, keeps
// another replica from handling the entry in between, and a replica dying
// in between leaves the entry to another, whose handler finds the mark and
// does nothing again.
func (q *inboxQueue) Done(ctx context.Context, id uint64) error {
	e, err := q.db.InboxEntry(ctx, id)
	if err != nil || e.Status == riscd.InboxDone {
		return err
	}
	return q.db.Batch(ctx, func(tx riscd.Tx) error {
		e, err := tx.InboxEntry(ctx, id)
		if err != nil || e.Status == riscd.InboxDone {
			return err
		}
		e.Status, e.DoneAt = riscd.InboxDone, q.now()
		e.Attempts++
		return tx.PutInboxEntry(ctx, e)
	})
}

func (q *inboxQueue) Failed(ctx context.Context, id uint64, attempts int, lastErr string, next time.Time, park bool) error {
	_, err := q.db.UpdateInbox(ctx, id, func(e riscd.InboxEntry) (riscd.InboxEntry, error) {
		if e.Status == riscd.InboxDone {
			return e, nil
		}
		e.Attempts, e.LastError, e.NextAttemptAt = attempts, lastErr, next
		if park {
			e.Status = riscd.InboxParked
		}
		return e, nil
	})
	return err
}
