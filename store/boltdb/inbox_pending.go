package boltdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/riscd/riscd"
)

// PendingInboxAfter returns up to limit pending entries whose ID is greater
// than after, in ID (arrival) order, whatever their NextAttemptAt
// (DefaultLimit if limit <= 0, at most MaxLimit). Paging with the last ID
// seen lets a reader walk every pending entry even when one subject has a
// long backlog.
func (t *Tx) PendingInboxAfter(ctx context.Context, after uint64, limit int) ([]InboxEntry, error) {
	return t.inboxAfter(InboxPending, after, riscd.PageLimit(limit))
}

// inboxAfter returns up to limit entries of status st whose ID is greater
// than after, in ID order, read through the status index.
func (t *Tx) inboxAfter(st InboxStatus, after uint64, limit int) ([]InboxEntry, error) {
	idx, err := t.bucket(bucketInboxByStatus)
	if err != nil {
		return nil, err
	}
	prefix := appendString(nil, string(st))
	c := idx.Cursor()
	var out []InboxEntry
	for k, _ := c.Seek(append(clone(prefix), u64Key(after+1)...)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		e, err := t.inboxEntry(binary.BigEndian.Uint64(k[len(prefix):]))
		if err != nil {
			return nil, fmt.Errorf("store: index %s: %w", bucketInboxByStatus, err)
		}
		out = append(out, e)
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}
