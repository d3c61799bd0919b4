package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
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
	// receipt an entry another replica received is left to that replica
	// (see Claim); zero for a store of this process's own. started is
	// when this process started: the entries received before are
	// nobody's in particular.
	grace   time.Duration
	started time.Time
	mu      sync.Mutex
	mine    map[uint64]struct{} // entries this process accepted and has not finished
	// putting holds the (iss, jti) of the entries this process is
	// committing, by record.JTIKey-like key: an entry becomes visible to
	// Pending (a commit notification wakes the dispatcher) before
	// PutInbox returns its ID, and must count as this process's then.
	putting map[string]int
}

// claimGrace is inboxQueue.grace on a shared store: a replica handles
// what it received within milliseconds, so another that reads the entry
// (a notification, a poll) leaves it alone this long before trying to
// claim it; a receiver that died meanwhile delays its entries this much.
const claimGrace = 2 * time.Second

// accepting returns the InboxWriter that records, in q, the entries w
// accepts: the receiver's.
func (q *inboxQueue) accepting(w riscd.InboxWriter) riscd.InboxWriter {
	return acceptingWriter{InboxWriter: w, q: q}
}

type acceptingWriter struct {
	riscd.InboxWriter
	q *inboxQueue
}

func (w acceptingWriter) PutInbox(ctx context.Context, e riscd.InboxEntry) (riscd.InboxEntry, bool, error) {
	q := w.q
	if q.grace == 0 {
		return w.InboxWriter.PutInbox(ctx, e)
	}
	k := putKey(e.Iss, e.JTI)
	q.mu.Lock()
	if q.putting == nil {
		q.putting = make(map[string]int)
		q.mine = make(map[uint64]struct{})
	}
	q.putting[k]++
	q.mu.Unlock()
	got, created, err := w.InboxWriter.PutInbox(ctx, e)
	q.mu.Lock()
	if err == nil && created {
		q.mine[got.ID] = struct{}{}
	}
	if q.putting[k]--; q.putting[k] == 0 {
		delete(q.putting, k)
	}
	q.mu.Unlock()
	return got, created, err
}

// putKey is the key of an entry in inboxQueue.putting.
func putKey(iss, jti string) string { return strconv.Itoa(len(iss)) + ":" + iss + jti }

// isMine reports whether this process accepted entry id.
func (q *inboxQueue) isMine(id uint64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.mine[id]
	return ok
}

// noteMine records as this process's the entries among es it is
// committing (see putting).
func (q *inboxQueue) noteMine(es []riscd.InboxEntry) {
	if q.grace == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.putting) == 0 {
		return
	}
	for _, e := range es {
		if q.putting[putKey(e.Iss, e.JTI)] > 0 {
			q.mine[e.ID] = struct{}{}
		}
	}
}

// finished forgets entry id: it is done, parked or gone.
func (q *inboxQueue) finished(id uint64) {
	if q.grace == 0 {
		return
	}
	q.mu.Lock()
	delete(q.mine, id)
	q.mu.Unlock()
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
	q.noteMine(entries)
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
// On a store shared by replicas, an entry another replica received is left
// to it for claimGrace after its receipt (ErrBusy: the dispatcher tries
// again at its next poll), then its status is read first, in one
// statement, so that what another replica finished costs no lock.
func (q *inboxQueue) Claim(ctx context.Context, e dispatch.Entry) (dispatch.Entry, func(), error) {
	if q.grace > 0 && !q.isMine(e.ID) {
		if e.ReceivedAt.After(q.started) && q.now().Before(e.ReceivedAt.Add(q.grace)) {
			return e, nil, fmt.Errorf("inbox entry %d is left to the replica that received it: %w", e.ID, dispatch.ErrBusy)
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
		if errors.Is(err, dispatch.ErrGone) {
			q.finished(e.ID)
		}
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
// mark: Done then only reads that the entry is done, and commits nothing.
// Otherwise (a dry run) it writes the entry, concurrent workers sharing
// the commit (Batch). The subject lock, held until Done returns, keeps
// another replica from handling the entry in between, and a replica dying
// in between leaves the entry to another, whose handler finds the mark and
// does nothing again.
func (q *inboxQueue) Done(ctx context.Context, id uint64) error {
	defer q.finished(id)
	done := false
	err := q.db.View(ctx, func(tx riscd.ReadTx) error {
		e, err := tx.InboxEntry(ctx, id)
		done = err == nil && e.Status == riscd.InboxDone
		return err
	})
	if err != nil || done {
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
	if park {
		defer q.finished(id)
	}
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
