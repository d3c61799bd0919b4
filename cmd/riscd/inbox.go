package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
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
func (q *inboxQueue) Claim(ctx context.Context, e dispatch.Entry) (dispatch.Entry, func(), error) {
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
// an earlier entry of its subject is pending.
func (q *inboxQueue) current(ctx context.Context, e dispatch.Entry) (dispatch.Entry, error) {
	var cur riscd.InboxEntry
	err := q.db.View(ctx, func(tx riscd.ReadTx) error {
		var err error
		cur, err = tx.InboxEntry(ctx, e.ID)
		switch {
		case errors.Is(err, riscd.ErrNotFound):
			return fmt.Errorf("inbox entry %d pruned: %w", e.ID, dispatch.ErrGone)
		case err != nil:
			return err
		case cur.Status != riscd.InboxPending:
			return fmt.Errorf("inbox entry %d is %s: %w", e.ID, cur.Status, dispatch.ErrGone)
		case e.Subject == "":
			return nil
		}
		// The subject's pending entries, newest first: few, since each
		// subject's are handled in order.
		lq := riscd.InboxQuery{Status: riscd.InboxPending, Subject: e.Subject, Limit: riscd.MaxLimit}
		for {
			page, next, err := tx.ListInbox(ctx, lq)
			if err != nil {
				return err
			}
			for _, p := range page {
				if p.ID < e.ID {
					return fmt.Errorf("inbox entry %d waits for entry %d: %w", e.ID, p.ID, dispatch.ErrBehind)
				}
			}
			if next == "" {
				return nil
			}
			lq.Cursor = next
		}
	})
	if err != nil {
		return e, err
	}
	return q.entry(cur), nil
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
