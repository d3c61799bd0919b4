package boltdb

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

// bucketMarks holds the marks of work done at most once:
// SHA-256(key) -> markRecord. The record keeps the key itself, so the
// consistency check can tell each entry sits where its key hashes.
const bucketMarks = "marks"

// MaxMarkKey is riscd.MaxMarkKey, the longest Mark key the store accepts,
// in bytes.
const MaxMarkKey = riscd.MaxMarkKey

func markKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// PutMark stores m unless a mark with the same Key exists. It returns the
// mark as stored and true when it wrote it; when the key was taken it
// writes nothing and returns the existing mark and false. At becomes now if
// zero. ErrInvalid for an empty key or one longer than MaxMarkKey.
func (t *Tx) PutMark(ctx context.Context, m Mark) (Mark, bool, error) {
	if err := record.CheckMarkKey(m.Key); err != nil {
		return Mark{}, false, err
	}
	b, err := t.bucket(bucketMarks)
	if err != nil {
		return Mark{}, false, err
	}
	k := markKey(m.Key)
	if v := b.Get(k); v != nil {
		old, err := record.DecodeMark(k, v)
		return old, false, err
	}
	if m.At.IsZero() {
		m.At = t.now()
	}
	r := record.MarkOf(m)
	data, err := record.Encode(r)
	if err != nil {
		return Mark{}, false, fmt.Errorf("store: mark: encode: %w", err)
	}
	if err := b.Put(k, data); err != nil {
		return Mark{}, false, fmt.Errorf("store: mark: %w", err)
	}
	m.At = record.Round(m.At)
	return m, true, nil
}

// Mark returns the mark with this key. ErrNotFound if there is none,
// ErrInvalid for a key PutMark would refuse.
func (t *Tx) Mark(ctx context.Context, key string) (Mark, error) {
	if err := record.CheckMarkKey(key); err != nil {
		return Mark{}, err
	}
	b, err := t.bucket(bucketMarks)
	if err != nil {
		return Mark{}, err
	}
	k := markKey(key)
	v := b.Get(k)
	if v == nil {
		return Mark{}, fmt.Errorf("store: mark: %w", ErrNotFound)
	}
	return record.DecodeMark(k, v)
}

// checkMarks verifies that every mark decodes, sits under the hash of its
// own key, and names an audit entry that exists.
func (c *checker) checkMarks() {
	audit, err := c.t.bucket(bucketAudit)
	if err != nil {
		c.fail("%v", err)
		return
	}
	c.each(bucketMarks, func(k, v []byte) error {
		m, err := record.DecodeMark(k, v)
		if err != nil {
			return err
		}
		if string(markKey(m.Key)) != string(k) {
			return fmt.Errorf("stored under a key that is not the hash of its own (%w)", ErrCorrupt)
		}
		if m.AuditID != 0 && audit.Get(binary.BigEndian.AppendUint64(nil, m.AuditID)) == nil {
			return fmt.Errorf("audit entry %d: %w", m.AuditID, ErrNotFound)
		}
		return nil
	})
}
