package boltdb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
	bolt "go.etcd.io/bbolt"
)

// secretKey is the record key of a bearer secret: its SHA-256
// (riscd.IDDigest).
func secretKey(s Secret) []byte { return riscd.IDDigest(s) }

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// orderedNanos encodes a time so that byte order is time order.
func orderedNanos(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())^(1<<63))
}

func sessionSubKey(sub string, created time.Time, key []byte) []byte {
	return append(append(appendString(nil, sub), orderedNanos(created)...), key...)
}

func (t *Tx) loadSession(key []byte) (record.Session, error) {
	b, err := t.bucket(bucketSessions)
	if err != nil {
		return record.Session{}, err
	}
	v := b.Get(key)
	if v == nil {
		return record.Session{}, fmt.Errorf("store: session: %w", ErrNotFound)
	}
	return record.DecodeSession(key, v)
}

// CreateSession stores a new browser session, keeping only the SHA-256 of
// its ID. CreatedAt becomes now if zero; a zero ExpiresAt never expires.
// Errors: ErrInvalid for an empty ID, ErrExists if the ID is taken.
func (t *Tx) CreateSession(ctx context.Context, s Session) error {
	if s.ID.IsZero() {
		return fmt.Errorf("store: create session: empty id: %w", ErrInvalid)
	}
	bs, err := t.buckets(bucketSessions, bucketSessionsBySub)
	if err != nil {
		return err
	}
	key := secretKey(s.ID)
	if bs[0].Get(key) != nil {
		return fmt.Errorf("store: create session: %w", ErrExists)
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = t.now()
	}
	return t.writeSession(bs[0], bs[1], key, s)
}

// writeSession writes the session s under key (the SHA-256 of its ID) and
// its index entry by subject.
func (t *Tx) writeSession(records, bySub *bolt.Bucket, key []byte, s Session) error {
	r := record.SealSession(t.keys, key, s)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: create session: encode: %w", err)
	}
	if err := records.Put(key, data); err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	if s.Sub != "" {
		if err := bySub.Put(sessionSubKey(s.Sub, r.CreatedAt.Time(), key), nil); err != nil {
			return fmt.Errorf("store: create session: %w", err)
		}
	}
	return nil
}

// Session returns the session with this ID. ErrNotFound if there is none or
// it has expired (ExpiresAt at or before now).
func (t *Tx) Session(ctx context.Context, id Secret) (Session, error) {
	key := secretKey(id)
	r, err := t.loadSession(key)
	if err != nil {
		return Session{}, err
	}
	if exp := r.ExpiresAt.Time(); !exp.IsZero() && !t.now().Before(exp) {
		return Session{}, fmt.Errorf("store: session expired: %w", ErrNotFound)
	}
	return r.Open(t.keys, key, id)
}

// DeleteSession removes a session (expired or not). ErrNotFound if there is
// none.
func (t *Tx) DeleteSession(ctx context.Context, id Secret) error {
	key := secretKey(id)
	r, err := t.loadSession(key)
	if err != nil {
		return err
	}
	return t.deleteSession(key, &r)
}

func (t *Tx) deleteSession(key []byte, r *record.Session) error {
	bs, err := t.buckets(bucketSessions, bucketSessionsBySub)
	if err != nil {
		return err
	}
	if err := bs[0].Delete(key); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	if r.Sub != "" {
		if err := bs[1].Delete(sessionSubKey(r.Sub, r.CreatedAt.Time(), key)); err != nil {
			return fmt.Errorf("store: delete session: %w", err)
		}
	}
	return nil
}

// DeleteSessionsOf removes the subject's sessions created before
// createdBefore (all of them if createdBefore is zero) and returns how many
// it removed. It reads only that subject's sessions.
func (t *Tx) DeleteSessionsOf(ctx context.Context, sub string, createdBefore time.Time) (int, error) {
	idx, err := t.bucket(bucketSessionsBySub)
	if err != nil {
		return 0, err
	}
	prefix := appendString(nil, sub)
	var limit []byte
	if !createdBefore.IsZero() {
		limit = append(clone(prefix), orderedNanos(createdBefore)...)
	}
	var keys [][]byte
	err = scanAsc(idx, prefix, func(k, _ []byte) (bool, error) {
		if limit != nil && bytes.Compare(k, limit) >= 0 {
			return false, nil
		}
		keys = append(keys, clone(k[len(k)-sha256.Size:]))
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	for _, key := range keys {
		r, err := t.loadSession(key)
		if err != nil {
			return 0, fmt.Errorf("store: index %s: %w", bucketSessionsBySub, err)
		}
		if err := t.deleteSession(key, &r); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// DeleteExpiredSessions removes the sessions whose ExpiresAt is at or
// before now and returns how many it removed. It reads every session.
func (t *Tx) DeleteExpiredSessions(ctx context.Context) (int, error) {
	b, err := t.bucket(bucketSessions)
	if err != nil {
		return 0, err
	}
	now := t.now()
	var keys [][]byte
	var recs []record.Session
	err = b.ForEach(func(k, v []byte) error {
		var r record.Session
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("store: session %x: undecodable record: %w", k[:8], ErrCorrupt)
		}
		if exp := r.ExpiresAt.Time(); !exp.IsZero() && !now.Before(exp) {
			keys, recs = append(keys, clone(k)), append(recs, r)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for i, key := range keys {
		if err := t.deleteSession(key, &recs[i]); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
