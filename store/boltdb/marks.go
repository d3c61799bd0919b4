package boltdb

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/riscd/riscd"
)

// bucketMarks holds the marks of work done at most once:
// SHA-256(key) -> markRecord. The record keeps the key itself, so the
// consistency check can tell each entry sits where its key hashes.
const bucketMarks = "marks"

// MaxMarkKey is riscd.MaxMarkKey, the longest Mark key the store accepts,
// in bytes.
const MaxMarkKey = riscd.MaxMarkKey

// markRecord is a mark on disk.
type markRecord struct {
	V       int    `json:"v"`
	Key     string `json:"key"`
	At      stamp  `json:"at,omitzero"`
	AuditID uint64 `json:"audit,omitempty"`
}

func markKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

func checkMarkKey(key string) error {
	if key == "" || len(key) > MaxMarkKey {
		return fmt.Errorf("store: mark: key of %d bytes (want 1 to %d): %w", len(key), MaxMarkKey, ErrInvalid)
	}
	return nil
}

func decodeMark(k, v []byte) (Mark, error) {
	var r markRecord
	if err := json.Unmarshal(v, &r); err != nil || r.V < 1 || r.V > recordVersion {
		return Mark{}, fmt.Errorf("store: mark %x: undecodable record: %w", k, ErrCorrupt)
	}
	return Mark{Key: r.Key, At: r.At.time(), AuditID: r.AuditID}, nil
}

// PutMark stores m unless a mark with the same Key exists. It returns the
// mark as stored and true when it wrote it; when the key was taken it
// writes nothing and returns the existing mark and false. At becomes now if
// zero. ErrInvalid for an empty key or one longer than MaxMarkKey.
func (t *Tx) PutMark(ctx context.Context, m Mark) (Mark, bool, error) {
	if err := checkMarkKey(m.Key); err != nil {
		return Mark{}, false, err
	}
	b, err := t.bucket(bucketMarks)
	if err != nil {
		return Mark{}, false, err
	}
	k := markKey(m.Key)
	if v := b.Get(k); v != nil {
		old, err := decodeMark(k, v)
		return old, false, err
	}
	if m.At.IsZero() {
		m.At = t.now()
	}
	data, err := json.Marshal(&markRecord{V: recordVersion, Key: m.Key, At: stampOf(m.At), AuditID: m.AuditID})
	if err != nil {
		return Mark{}, false, fmt.Errorf("store: mark: encode: %w", err)
	}
	if err := b.Put(k, data); err != nil {
		return Mark{}, false, fmt.Errorf("store: mark: %w", err)
	}
	m.At = stampOf(m.At).time()
	return m, true, nil
}

// Mark returns the mark with this key. ErrNotFound if there is none,
// ErrInvalid for a key PutMark would refuse.
func (t *Tx) Mark(ctx context.Context, key string) (Mark, error) {
	if err := checkMarkKey(key); err != nil {
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
	return decodeMark(k, v)
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
		m, err := decodeMark(k, v)
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
