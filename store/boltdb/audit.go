package boltdb

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

func decodeAudit(k, v []byte) (AuditEntry, error) {
	id := binary.BigEndian.Uint64(k)
	return record.DecodeAudit(id, v)
}

// AppendAudit adds an entry to the audit log. It assigns the ID
// (increasing), sets At to now if zero, and returns the entry as stored.
func (t *Tx) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	bs, err := t.buckets(bucketAudit, bucketAuditBySub)
	if err != nil {
		return AuditEntry{}, err
	}
	id, err := bs[0].NextSequence()
	if err != nil {
		return AuditEntry{}, fmt.Errorf("store: append audit: %w", err)
	}
	if e.At.IsZero() {
		e.At = t.now()
	}
	e.ID = id
	return writeAudit(bs[0], bs[1], e)
}

// writeAudit writes the entry e.ID to the log and its index by subject.
func writeAudit(log, bySub *bolt.Bucket, e AuditEntry) (AuditEntry, error) {
	id := e.ID
	r := record.AuditOf(e)
	data, err := record.Encode(r)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("store: append audit: encode: %w", err)
	}
	if err := log.Put(u64Key(id), data); err != nil {
		return AuditEntry{}, fmt.Errorf("store: append audit: %w", err)
	}
	if e.Sub != "" {
		if err := bySub.Put(binary.BigEndian.AppendUint64(appendString(nil, e.Sub), id), nil); err != nil {
			return AuditEntry{}, fmt.Errorf("store: append audit: %w", err)
		}
	}
	return r.Entry(id), nil
}

// ListAudit returns a page of entries, newest first, and the cursor of the
// next page ("" after the last). ErrInvalid for a malformed cursor.
func (t *Tx) ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, string, error) {
	limit := riscd.PageLimit(q.Limit)
	index, prefix := bucketAudit, []byte(nil)
	if q.Sub != "" {
		index, prefix = bucketAuditBySub, appendString(nil, q.Sub)
	}
	var before []byte
	if q.Cursor != "" {
		id, err := strconv.ParseUint(q.Cursor, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("store: list audit: bad cursor: %w", ErrInvalid)
		}
		before = binary.BigEndian.AppendUint64(clone(prefix), id)
	}
	b, err := t.bucket(index)
	if err != nil {
		return nil, "", err
	}
	log, err := t.bucket(bucketAudit)
	if err != nil {
		return nil, "", err
	}
	var out []AuditEntry
	next := ""
	err = scanDesc(b, prefix, before, func(k, v []byte) (bool, error) {
		if len(out) == limit {
			next = strconv.FormatUint(out[len(out)-1].ID, 10)
			return false, nil
		}
		if index != bucketAudit {
			k = k[len(prefix):]
			if v = log.Get(k); v == nil {
				return false, fmt.Errorf("store: index %s: audit entry %d: %w", index, binary.BigEndian.Uint64(k), ErrNotFound)
			}
		}
		e, err := decodeAudit(k, v)
		if err != nil {
			return false, err
		}
		out = append(out, e)
		return true, nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}
