package boltdb

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/riscd/riscd"
)

// PendingOutboxAfter returns up to limit pending jobs whose ID is greater
// than after, in ID order, whatever their NextAttemptAt (DefaultLimit if
// limit <= 0, at most MaxLimit). Paging with the last ID seen lets a worker
// walk every pending job even when one key has a long backlog, and read
// only the jobs enqueued since its last look.
func (t *Tx) PendingOutboxAfter(ctx context.Context, after uint64, limit int) ([]OutboxJob, error) {
	limit = riscd.PageLimit(limit)
	if after == ^uint64(0) {
		return nil, nil
	}
	idx, err := t.bucket(bucketOutboxPending)
	if err != nil {
		return nil, err
	}
	c := idx.Cursor()
	var out []OutboxJob
	for k, _ := c.Seek(u64Key(after + 1)); k != nil; k, _ = c.Next() {
		j, err := t.OutboxJob(ctx, binary.BigEndian.Uint64(k))
		if err != nil {
			return nil, fmt.Errorf("store: index %s: %w", bucketOutboxPending, err)
		}
		out = append(out, j)
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}
