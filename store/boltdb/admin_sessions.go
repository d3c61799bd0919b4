package boltdb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/riscd/riscd"
)

// bucketAdminSessions holds the admin page's sign-ins (schema 5):
// SHA-256(id) -> adminSessionRecord, the CSRF token sealed as a session's.
const bucketAdminSessions = "admin_sessions"

// adminSessionRecord is an admin page session on disk, keyed by SHA-256 of
// its ID.
type adminSessionRecord struct {
	V         int    `json:"v"`
	Operator  string `json:"op,omitempty"`
	CSRF      []byte `json:"csrf,omitempty"`
	CreatedAt stamp  `json:"ca,omitzero"`
	ExpiresAt stamp  `json:"exp,omitzero"`
}

func decodeAdminSession(key, v []byte) (adminSessionRecord, error) {
	var r adminSessionRecord
	if err := json.Unmarshal(v, &r); err != nil || r.V < 1 || r.V > recordVersion {
		return adminSessionRecord{}, fmt.Errorf("store: admin session %x: undecodable record: %w", key[:min(8, len(key))], ErrCorrupt)
	}
	return r, nil
}

// expired reports whether the record's session has ended at now.
func (r adminSessionRecord) expired(t *Tx) bool {
	exp := r.ExpiresAt.time()
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
	r, err := decodeAdminSession(key, v)
	if err != nil {
		return riscd.AdminSession{}, err
	}
	if r.expired(t) {
		return riscd.AdminSession{}, fmt.Errorf("store: admin session expired: %w", ErrNotFound)
	}
	csrf, err := t.keys.Open(r.CSRF, bucketAdminSessions, key, "csrf")
	if err != nil {
		return riscd.AdminSession{}, fmt.Errorf("store: admin session %x: %w", key[:8], err)
	}
	return riscd.AdminSession{
		ID: id, CSRF: Secret(csrf), Operator: r.Operator,
		Created: r.CreatedAt.time(), Expires: r.ExpiresAt.time(),
	}, nil
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
		created stamp
	}
	var keep []live
	var drop [][]byte
	err = b.ForEach(func(k, v []byte) error {
		r, err := decodeAdminSession(k, v)
		if err != nil {
			return err
		}
		if r.expired(t) {
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
		slices.SortStableFunc(keep, func(a, b live) int { return a.created.time().Compare(b.created.time()) })
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
	data, err := json.Marshal(&adminSessionRecord{
		V:         recordVersion,
		Operator:  s.Operator,
		CSRF:      t.keys.Seal(s.CSRF.Reveal(), bucketAdminSessions, key, "csrf"),
		CreatedAt: stampOf(s.Created),
		ExpiresAt: stampOf(s.Expires),
	})
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
		r, err := decodeAdminSession(k, v)
		if err != nil {
			return err
		}
		_, err = t.keys.Open(r.CSRF, bucketAdminSessions, k, "csrf")
		return err
	})
}
