package boltdb

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	"github.com/riscd/riscd"
)

// PendingInbox returns up to limit pending entries in ID (arrival) order,
// whatever their NextAttemptAt (DefaultLimit if limit <= 0, at most MaxLimit).
func (t *Tx) PendingInbox(ctx context.Context, limit int) ([]InboxEntry, error) {
	limit = riscd.PageLimit(limit)
	idx, err := t.bucket(bucketInboxByStatus)
	if err != nil {
		return nil, err
	}
	prefix := appendString(nil, string(InboxPending))
	var out []InboxEntry
	err = scanAsc(idx, prefix, func(k, _ []byte) (bool, error) {
		e, err := t.inboxEntry(binary.BigEndian.Uint64(k[len(prefix):]))
		if err != nil {
			return false, fmt.Errorf("store: index %s: %w", bucketInboxByStatus, err)
		}
		out = append(out, e)
		return len(out) < limit, nil
	})
	return out, err
}

// CountInbox returns how many entries have the given status. It reads the
// status index, so its cost grows with that count.
func (t *Tx) CountInbox(ctx context.Context, status InboxStatus) (int, error) {
	idx, err := t.bucket(bucketInboxByStatus)
	if err != nil {
		return 0, err
	}
	return countPrefix(idx, appendString(nil, string(status))), nil
}

// ListInbox returns a page of matching entries, newest first, and the
// cursor of the next page ("" after the last). Status and Subject use
// indexes (a Subject query also reads the pending entries, which the
// subject index does not hold); Type is filtered while reading. ErrInvalid
// for a malformed cursor.
func (t *Tx) ListInbox(ctx context.Context, q InboxQuery) ([]InboxEntry, string, error) {
	limit := riscd.PageLimit(q.Limit)
	var before uint64
	if q.Cursor != "" {
		id, err := strconv.ParseUint(q.Cursor, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("store: list inbox: bad cursor: %w", ErrInvalid)
		}
		if id == 0 {
			return nil, "", nil // nothing comes before the first ID
		}
		before = id
	}
	var out []InboxEntry
	next := ""
	err := t.eachInboxDesc(q, before, func(e InboxEntry) (bool, error) {
		if (q.Status != "" && e.Status != q.Status) || (q.Type != "" && !slices.Contains(e.Types, q.Type)) {
			return true, nil
		}
		if len(out) == limit {
			next = strconv.FormatUint(out[len(out)-1].ID, 10)
			return false, nil
		}
		out = append(out, e)
		return true, nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// eachInboxDesc calls fn with the entries q's Subject or Status selects
// (every entry when neither is set) whose ID is below before (all when
// before is 0), newest first, until fn returns false or an error. Entries
// may not match q's other fields.
func (t *Tx) eachInboxDesc(q InboxQuery, before uint64, fn func(InboxEntry) (bool, error)) error {
	if q.Subject != "" {
		withPending := q.Status == "" || q.Status == InboxPending
		return t.eachSubjectDesc(q.Subject, before, withPending, fn)
	}
	index, prefix := bucketInbox, []byte(nil)
	if q.Status != "" {
		index, prefix = bucketInboxByStatus, appendString(nil, string(q.Status))
	}
	b, err := t.bucket(index)
	if err != nil {
		return err
	}
	var from []byte
	if before != 0 {
		from = append(clone(prefix), u64Key(before)...)
	}
	return scanDesc(b, prefix, from, func(k, v []byte) (bool, error) {
		if index == bucketInbox {
			e, err := decodeInbox(t.keys, k, v)
			if err != nil {
				return false, err
			}
			return fn(e)
		}
		e, err := t.inboxEntry(binary.BigEndian.Uint64(k[len(prefix):]))
		if err != nil {
			return false, fmt.Errorf("store: index %s: %w", index, err)
		}
		return fn(e)
	})
}
