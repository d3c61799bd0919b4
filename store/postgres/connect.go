package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/seal"
	"github.com/riscd/riscd/store/internal/record"
)

// CreateConnectSession stores a new connect session.
func (t *Tx) CreateConnectSession(ctx context.Context, s riscd.ConnectSession) error {
	if err := record.CheckConnect(s); err != nil {
		return err
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = t.now()
	}
	r := record.SealConnect(t.keys, s)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: create connect session: encode: %w", err)
	}
	n, err := t.exec(ctx, "create connect session", `INSERT INTO riscd_connect (id, expires_ns, doc) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, []byte(s.ID), nanos(s.ExpiresAt), data)
	if err == nil && n == 0 {
		err = fmt.Errorf("store: create connect session: %w", riscd.ErrExists)
	}
	return err
}

// PutConnectSession replaces the existing connect session s.ID.
func (t *Tx) PutConnectSession(ctx context.Context, s riscd.ConnectSession) error {
	if err := record.CheckConnect(s); err != nil {
		return err
	}
	r := record.SealConnect(t.keys, s)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: put connect session: encode: %w", err)
	}
	n, err := t.exec(ctx, "put connect session", `UPDATE riscd_connect SET expires_ns = $2, doc = $3 WHERE id = $1`,
		[]byte(s.ID), nanos(s.ExpiresAt), data)
	if err == nil && n == 0 {
		err = fmt.Errorf("store: put connect session: %w", riscd.ErrNotFound)
	}
	return err
}

// ConnectSession returns the connect session id, expired or not.
func (t *Tx) ConnectSession(ctx context.Context, id string) (riscd.ConnectSession, error) {
	var data []byte
	if err := t.scanOne(ctx, "connect session", []any{&data}, `SELECT doc FROM riscd_connect WHERE id = $1`, []byte(id)); err != nil {
		return riscd.ConnectSession{}, err
	}
	return openConnect(t.keys, []byte(id), data)
}

// DeleteExpiredConnectSessions deletes the expired connect sessions.
func (t *Tx) DeleteExpiredConnectSessions(ctx context.Context) (int, error) {
	return t.exec(ctx, "delete expired connect sessions", `DELETE FROM riscd_connect WHERE expires_ns <= $1`, nanos(t.now()))
}

// LinkAppUser records l unless (l.AppUser, l.Sub) is linked already.
func (t *Tx) LinkAppUser(ctx context.Context, l riscd.AppUserLink) (riscd.AppUserLink, bool, error) {
	if err := record.CheckAppUser(l.AppUser); err != nil {
		return riscd.AppUserLink{}, false, err
	}
	if l.Sub == "" {
		return riscd.AppUserLink{}, false, fmt.Errorf("store: link: empty sub: %w", riscd.ErrInvalid)
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = t.now()
	}
	n, err := t.exec(ctx, "link app user", `INSERT INTO riscd_app_user_links (app_user, sub, created_ns) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, []byte(l.AppUser), []byte(l.Sub), nullNanos(l.CreatedAt))
	t.cache.linksChanged(l.Sub)
	if err != nil {
		return riscd.AppUserLink{}, false, err
	}
	if n == 1 {
		l.CreatedAt = record.Round(l.CreatedAt)
		return l, true, nil
	}
	var created *int64
	if err := t.scanOne(ctx, "link", []any{&created}, `SELECT created_ns FROM riscd_app_user_links WHERE app_user = $1 AND sub = $2`,
		[]byte(l.AppUser), []byte(l.Sub)); err != nil {
		return riscd.AppUserLink{}, false, err
	}
	return riscd.AppUserLink{AppUser: l.AppUser, Sub: l.Sub, CreatedAt: fromNanos(created)}, false, nil
}

// UnlinkAppUser deletes the link (appUser, sub).
func (t *Tx) UnlinkAppUser(ctx context.Context, appUser, sub string) error {
	n, err := t.exec(ctx, "unlink app user", `DELETE FROM riscd_app_user_links WHERE app_user = $1 AND sub = $2`,
		[]byte(appUser), []byte(sub))
	t.cache.linksChanged(sub)
	if err == nil && n == 0 {
		err = fmt.Errorf("store: unlink: %w", riscd.ErrNotFound)
	}
	return err
}

// LinksOfAppUser returns the links of appUser, in Sub order.
func (t *Tx) LinksOfAppUser(ctx context.Context, appUser string) ([]riscd.AppUserLink, error) {
	return t.links(ctx, `SELECT app_user, sub, created_ns FROM riscd_app_user_links WHERE app_user = $1 ORDER BY sub`, appUser)
}

// LinksOfSub returns the links of sub, in AppUser order.
func (t *Tx) LinksOfSub(ctx context.Context, sub string) ([]riscd.AppUserLink, error) {
	if l, ok := t.cache.linksOfSub(sub); ok {
		if _, err := t.q(); err != nil {
			return nil, err
		}
		return l, nil
	}
	return t.links(ctx, `SELECT app_user, sub, created_ns FROM riscd_app_user_links WHERE sub = $1 ORDER BY app_user`, sub)
}

func (t *Tx) links(ctx context.Context, sql, arg string) ([]riscd.AppUserLink, error) {
	var appUser, sub []byte
	var created *int64
	var out []riscd.AppUserLink
	err := t.each(ctx, "links", []any{&appUser, &sub, &created}, func() (bool, error) {
		out = append(out, riscd.AppUserLink{AppUser: string(appUser), Sub: string(sub), CreatedAt: fromNanos(created)})
		return true, nil
	}, sql, []byte(arg))
	return out, err
}

func (t *Tx) exportConnect(ctx context.Context, fn func(riscd.Record) error) error {
	var id, data []byte
	return t.exportRows(ctx, []any{&id, &data}, func() (riscd.Record, error) {
		s, err := openConnect(t.keys, id, data)
		return riscd.Record{Connect: &s}, err
	}, fn, `SELECT id, doc FROM riscd_connect ORDER BY id`)
}

func (t *Tx) exportLinks(ctx context.Context, fn func(riscd.Record) error) error {
	var appUser, sub []byte
	var created *int64
	return t.exportRows(ctx, []any{&appUser, &sub, &created}, func() (riscd.Record, error) {
		l := riscd.AppUserLink{AppUser: string(appUser), Sub: string(sub), CreatedAt: fromNanos(created)}
		return riscd.Record{Link: &l}, nil
	}, fn, `SELECT app_user, sub, created_ns FROM riscd_app_user_links ORDER BY app_user, sub`)
}

func (t *Tx) importConnect(ctx context.Context, s riscd.ConnectSession) error {
	if err := record.CheckConnect(s); err != nil {
		return err
	}
	r := record.SealConnect(t.keys, s)
	data, err := record.Encode(r)
	if err != nil {
		return err
	}
	return t.insertNew(ctx, fmt.Sprintf("connect session %q", s.ID), `INSERT INTO riscd_connect (id, expires_ns, doc)
		VALUES ($1, $2, $3)`, []byte(s.ID), nanos(s.ExpiresAt), data)
}

func (t *Tx) importLink(ctx context.Context, l riscd.AppUserLink) error {
	if err := record.CheckAppUser(l.AppUser); err != nil {
		return err
	}
	if l.Sub == "" {
		return fmt.Errorf("link without a sub: %w", riscd.ErrInvalid)
	}
	return t.insertNew(ctx, fmt.Sprintf("link %q", l.AppUser), `INSERT INTO riscd_app_user_links (app_user, sub, created_ns)
		VALUES ($1, $2, $3)`, []byte(l.AppUser), []byte(l.Sub), nullNanos(l.CreatedAt))
}

// checkConnect opens every connect session and checks its expires_ns.
func (t *Tx) checkConnect(ctx context.Context) error {
	var id, data []byte
	var expires int64
	return t.each(ctx, "check connect sessions", []any{&id, &expires, &data}, func() (bool, error) {
		s, err := openConnect(t.keys, id, data)
		if err != nil {
			return false, err
		}
		if expires != nanos(s.ExpiresAt) {
			return false, mismatch(fmt.Sprintf("connect session %q", id), "expires_ns")
		}
		return true, nil
	}, `SELECT id, expires_ns, doc FROM riscd_connect ORDER BY id`)
}

// checkLinks checks every link names an app user and a sub.
func (t *Tx) checkLinks(ctx context.Context) error {
	var appUser, sub []byte
	return t.each(ctx, "check links", []any{&appUser, &sub}, func() (bool, error) {
		if record.CheckAppUser(string(appUser)) != nil || len(sub) == 0 {
			return false, fmt.Errorf("store: link %q: an empty or long app user or sub: %w", appUser, riscd.ErrCorrupt)
		}
		return true, nil
	}, `SELECT app_user, sub FROM riscd_app_user_links ORDER BY app_user, sub`)
}

// fromNanos is a created_ns column read back: UTC, zero for NULL.
func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// openConnect decodes a connect session's document and opens its sealed
// fields.
func openConnect(keys *seal.Keyring, id, data []byte) (riscd.ConnectSession, error) {
	r, err := record.DecodeConnect(id, data)
	if err != nil {
		return riscd.ConnectSession{}, err
	}
	return r.Open(keys, id)
}
