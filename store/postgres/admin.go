package postgres

import (
	"context"
	"fmt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

// openAdmin decodes an admin session's document and opens its CSRF token.
func (t *Tx) openAdmin(id riscd.Secret, key, data []byte) (riscd.AdminSession, error) {
	r, err := record.DecodeAdminSession(key, data)
	if err != nil {
		return riscd.AdminSession{}, err
	}
	return r.Open(t.keys, key, id)
}

// AdminSession returns the admin page session id unless it has expired.
func (t *Tx) AdminSession(ctx context.Context, id riscd.Secret) (riscd.AdminSession, error) {
	key := sha(id.Reveal())
	var data []byte
	if err := t.scanOne(ctx, "admin session", []any{&data}, `SELECT doc FROM riscd_admin_sessions WHERE id_hash = $1`, key); err != nil {
		return riscd.AdminSession{}, err
	}
	s, err := t.openAdmin(id, key, data)
	if err != nil {
		return riscd.AdminSession{}, err
	}
	if !s.Expires.IsZero() && !t.now().Before(s.Expires) {
		return riscd.AdminSession{}, fmt.Errorf("store: admin session expired: %w", riscd.ErrNotFound)
	}
	return s, nil
}

// CreateAdminSession stores a new admin page session after deleting the
// expired ones and the oldest beyond max-1.
func (t *Tx) CreateAdminSession(ctx context.Context, s riscd.AdminSession, max int) error {
	if s.ID.IsZero() {
		return fmt.Errorf("store: create admin session: empty id: %w", riscd.ErrInvalid)
	}
	if max < 1 {
		return fmt.Errorf("store: create admin session: max %d: %w", max, riscd.ErrInvalid)
	}
	if _, err := t.w(); err != nil {
		return err
	}
	key := sha(s.ID.Reveal())
	var taken bool
	if err := t.scanOne(ctx, "create admin session", []any{&taken},
		`SELECT EXISTS (SELECT 1 FROM riscd_admin_sessions WHERE id_hash = $1)`, key); err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("store: create admin session: %w", riscd.ErrExists)
	}
	if _, err := t.exec(ctx, "create admin session", `DELETE FROM riscd_admin_sessions WHERE expires_ns <= $1`, nanos(t.now())); err != nil {
		return err
	}
	if _, err := t.exec(ctx, "create admin session", `DELETE FROM riscd_admin_sessions WHERE id_hash IN (
		SELECT id_hash FROM riscd_admin_sessions ORDER BY created_ns, id_hash
		LIMIT greatest((SELECT count(*) FROM riscd_admin_sessions) - ($1 - 1), 0))`, max); err != nil {
		return err
	}
	if s.Created.IsZero() {
		s.Created = t.now()
	}
	r := record.SealAdminSession(t.keys, key, s)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: create admin session: encode: %w", err)
	}
	_, err = t.exec(ctx, "create admin session", `INSERT INTO riscd_admin_sessions (id_hash, created_ns, expires_ns, doc)
		VALUES ($1, $2, $3, $4)`, key, nanos(s.Created), nullNanos(s.Expires), data)
	return err
}

// DeleteAdminSession deletes the admin page session id, expired or not.
func (t *Tx) DeleteAdminSession(ctx context.Context, id riscd.Secret) error {
	n, err := t.exec(ctx, "delete admin session", `DELETE FROM riscd_admin_sessions WHERE id_hash = $1`, sha(id.Reveal()))
	if err == nil && n == 0 {
		err = fmt.Errorf("store: admin session: %w", riscd.ErrNotFound)
	}
	return err
}

// AdminSession runs ReadTx.AdminSession in one statement (each admin page
// request makes it).
func (db *DB) AdminSession(ctx context.Context, id riscd.Secret) (riscd.AdminSession, error) {
	return readOne(ctx, db, func(t *Tx) (riscd.AdminSession, error) { return t.AdminSession(ctx, id) })
}

func (t *Tx) checkAdminSessions(ctx context.Context) error {
	var key, data []byte
	var created int64
	var expires *int64
	return t.each(ctx, "check admin sessions", []any{&key, &created, &expires, &data}, func() (bool, error) {
		s, err := t.openAdmin("", key, data)
		if err != nil {
			return false, err
		}
		what := fmt.Sprintf("admin session %x", key[:8])
		exp := nullNanos(s.Expires)
		switch {
		case created != nanos(s.Created):
			return false, mismatch(what, "created_ns")
		case (exp == nil) != (expires == nil) || (exp != nil && *exp != *expires):
			return false, mismatch(what, "expires_ns")
		}
		return true, nil
	}, `SELECT id_hash, created_ns, expires_ns, doc FROM riscd_admin_sessions ORDER BY id_hash`)
}
