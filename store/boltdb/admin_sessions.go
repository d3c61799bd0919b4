package boltdb

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

// bucketAdminSessions holds the admin page's sign-ins (schema 5):
// SHA-256(id) -> record.AdminSession, the CSRF token sealed as a session's.
const bucketAdminSessions = "admin_sessions"

// expired reports whether the record's session has ended at now.
func expired(t *Tx, r *record.AdminSession) bool {
	exp := r.ExpiresAt.Time()
	return !exp.IsZero() && !t.now().Before(exp)
}

// AdminSession returns the admin page session with this ID. ErrNotFound if
// there is none or it has expired (Expires at or before now).
func (t *Tx) AdminSession(ctx context.Context, id Secret) (riscd.AdminSession, error) {
	b, err := t.bucket(bucketAdminSessions)
	if err != nil {
		return riscd.AdminSession{}, err
	}
	key := secretKey(id)
	v := b.Get(key)
	if v == nil {
		return riscd.AdminSession{}, fmt.Errorf("store: admin session: %w", ErrNotFound)
	}
	r, err := record.DecodeAdminSession(key, v)
	if err != nil {
		return riscd.AdminSession{}, err
	}
	if expired(t, &r) {
		return riscd.AdminSession{}, fmt.Errorf("store: admin session expired: %w", ErrNotFound)
	}
	return r.Open(t.keys, key, id)
}

// CreateAdminSession stores a new admin page session, keeping only the
// SHA-256 of its ID. It first deletes the expired sessions, then, oldest
// first (by Created), as many as keep the sessions at max with s among
// them. Created becomes now if zero; a zero Expires never expires.
// Errors: ErrInvalid for an empty ID or a max below 1, ErrExists if the ID
// is taken.
func (t *Tx) CreateAdminSession(ctx context.Context, s riscd.AdminSession, max int) error {
	if s.ID.IsZero() {
		return fmt.Errorf("store: create admin session: empty id: %w", ErrInvalid)
	}
	if max < 1 {
		return fmt.Errorf("store: create admin session: max %d: %w", max, ErrInvalid)
	}
	b, err := t.bucket(bucketAdminSessions)
	if err != nil {
		return err
	}
	key := secretKey(s.ID)
	if b.Get(key) != nil {
		return fmt.Errorf("store: create admin session: %w", ErrExists)
	}
	type live struct {
		key     []byte
		created record.Stamp
	}
	var keep []live
	var drop [][]byte
	err = b.ForEach(func(k, v []byte) error {
		r, err := record.DecodeAdminSession(k, v)
		if err != nil {
			return err
		}
		if expired(t, &r) {
			drop = append(drop, bytes.Clone(k))
		} else {
			keep = append(keep, live{bytes.Clone(k), r.CreatedAt})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if over := len(keep) - (max - 1); over > 0 {
		slices.SortStableFunc(keep, func(a, b live) int { return a.created.Time().Compare(b.created.Time()) })
		for _, l := range keep[:over] {
			drop = append(drop, l.key)
		}
	}
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("store: create admin session: %w", err)
		}
	}
	if s.Created.IsZero() {
		s.Created = t.now()
	}
	r := record.SealAdminSession(t.keys, key, s)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: create admin session: encode: %w", err)
	}
	if err := b.Put(key, data); err != nil {
		return fmt.Errorf("store: create admin session: %w", err)
	}
	return nil
}

// DeleteAdminSession removes an admin page session (expired or not).
// ErrNotFound if there is none.
func (t *Tx) DeleteAdminSession(ctx context.Context, id Secret) error {
	b, err := t.bucket(bucketAdminSessions)
	if err != nil {
		return err
	}
	key := secretKey(id)
	if b.Get(key) == nil {
		return fmt.Errorf("store: admin session: %w", ErrNotFound)
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("store: delete admin session: %w", err)
	}
	return nil
}

// checkAdminSessions verifies that every admin session decodes and its
// CSRF token opens.
func (c *checker) checkAdminSessions(t *Tx) {
	c.each(bucketAdminSessions, func(k, v []byte) error {
		r, err := record.DecodeAdminSession(k, v)
		if err != nil {
			return err
		}
		_, err = r.Open(t.keys, k, "")
		return err
	})
}
