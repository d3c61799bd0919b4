package main

import (
	"context"
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

var _ dispatch.Queue = (*inboxQueue)(nil)

func (q *inboxQueue) Pending(ctx context.Context, after uint64, limit int) ([]dispatch.Entry, error) {
	entries, err := q.db.PendingInboxAfter(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]dispatch.Entry, len(entries))
	for i, e := range entries {
		f, ok := q.formats[e.Transmitter]
		if !ok {
			f = events.FormatGoogle
		}
		out[i] = dispatch.Entry{
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
	return out, nil
}

// Done marks the entry done. Concurrent workers share the commit (Batch).
func (q *inboxQueue) Done(ctx context.Context, id uint64) error {
	return q.db.Batch(ctx, func(tx riscd.Tx) error {
		e, err := tx.InboxEntry(ctx, id)
		if err != nil || e.Status == riscd.InboxDone {
			return err
		}
		e.Status, e.DoneAt = riscd.InboxDone, q.now()
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
