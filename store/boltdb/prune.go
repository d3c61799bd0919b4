package boltdb

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

// Pruned is riscd.Pruned, what Prune removed.
type Pruned = riscd.Pruned

// pruneBatch is how many records one of Prune's transactions removes at
// most, so that the writers it shares the store with wait for one short
// transaction at a time.
const pruneBatch = 500

// Prune removes what riscd no longer needs from before cutoff: inbox
// entries done before it (their raw SET, claims and index entries) and
// outbox jobs done before it. It keeps every pending or parked entry,
// every pending or failed job, the audit log and the marks that keep a
// redelivered event from being acted on twice; an event redelivered after
// its entry is pruned is stored again and recognised by its marks. Entries
// whose records are still in the inbox journal are kept until the journal
// starts over (see pruneFloor). It works in transactions of at most
// pruneBatch records and returns what it removed, with ctx's error if ctx
// ends first.
func (db *DB) Prune(ctx context.Context, cutoff time.Time) (Pruned, error) {
	var n Pruned
	floor, err := db.journal.pruneFloor()
	if err != nil {
		return n, err
	}
	received := cutoff
	if !floor.IsZero() && floor.Before(received) {
		received = floor
	}
	for after := uint64(0); ; {
		removed, next, err := db.pruneInbox(ctx, after, cutoff, received)
		n.Events += removed
		if err != nil {
			return n, fmt.Errorf("store: prune events: %w", err)
		}
		if next == 0 {
			break
		}
		after = next
	}
	for after := uint64(0); ; {
		removed, next, err := db.pruneOutbox(ctx, after, cutoff)
		n.Jobs += removed
		if err != nil {
			return n, fmt.Errorf("store: prune outbox: %w", err)
		}
		if next == 0 {
			break
		}
		after = next
	}
	return n, nil
}

// pruneInbox removes, in one transaction, the done entries among the next
// pruneBatch with IDs above after that were done before cutoff and
// received before received. It returns how many it removed and the ID to
// go on after, 0 when the scan is over: at the first entry received at or
// after received (IDs follow arrival), or at the end of the done entries.
func (db *DB) pruneInbox(ctx context.Context, after uint64, cutoff, received time.Time) (int, uint64, error) {
	removed, next := 0, uint64(0)
	err := db.updateTx(ctx, func(t *Tx) error {
		removed, next = 0, 0
		entries, err := t.inboxAfter(InboxDone, after, pruneBatch)
		if err != nil {
			return err
		}
		if len(entries) == pruneBatch {
			next = entries[len(entries)-1].ID
		}
		var doomed []InboxEntry
		for _, e := range entries {
			if !e.ReceivedAt.Before(received) {
				next = 0
				break
			}
			done := e.DoneAt
			if done.IsZero() {
				done = e.ReceivedAt
			}
			if done.Before(cutoff) {
				doomed = append(doomed, e)
			}
		}
		bs, err := t.buckets(bucketInbox, bucketInboxByJTI, bucketInboxByStatus, bucketInboxBySubject)
		if err != nil {
			return err
		}
		for _, e := range doomed {
			if err := bs[0].Delete(u64Key(e.ID)); err != nil {
				return err
			}
			if v := bs[1].Get(record.JTIKey(e.Iss, e.JTI)); v != nil && binary.BigEndian.Uint64(v) == e.ID {
				if err := bs[1].Delete(record.JTIKey(e.Iss, e.JTI)); err != nil {
					return err
				}
			}
			if err := bs[2].Delete(inboxStatusKey(e.Status, e.ID)); err != nil {
				return err
			}
			if e.Subject != "" {
				if err := bs[3].Delete(inboxSubjectKey(e.Subject, e.ID)); err != nil {
					return err
				}
			}
		}
		removed = len(doomed)
		return nil
	})
	return removed, next, err
}

// pruneOutbox removes, in one transaction, up to pruneBatch done jobs with
// IDs above after that were done before cutoff. It returns how many it
// removed and the ID to go on after, 0 when the scan is over: at the first
// job created at or after cutoff (IDs follow creation), or at the end.
func (db *DB) pruneOutbox(ctx context.Context, after uint64, cutoff time.Time) (int, uint64, error) {
	removed, next := 0, uint64(0)
	err := db.updateTx(ctx, func(t *Tx) error {
		removed, next = 0, 0
		b, err := t.bucket(bucketOutbox)
		if err != nil {
			return err
		}
		var doomed [][]byte
		scanned := 0
		c := b.Cursor()
		for k, v := c.Seek(u64Key(after + 1)); k != nil; k, v = c.Next() {
			if scanned == pruneBatch {
				next = binary.BigEndian.Uint64(k) - 1
				break
			}
			scanned++
			r, err := record.DecodeOutbox(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return err
			}
			if !r.CreatedAt.Time().Before(cutoff) {
				break
			}
			if r.Status == string(OutboxDone) && r.DoneAt.Time().Before(cutoff) {
				doomed = append(doomed, append([]byte(nil), k...))
			}
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		removed = len(doomed)
		return nil
	})
	return removed, next, err
}
