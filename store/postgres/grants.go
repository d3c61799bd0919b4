package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

var errCorrupt = riscd.ErrCorrupt

const grantKeySize = record.GrantKeySize

// grantKey decodes a grant id: the record its secrets are bound to.
func grantKey(id string) ([]byte, error) {
	k, err := hex.DecodeString(id)
	if err != nil || len(k) != grantKeySize || hex.EncodeToString(k) != id {
		return nil, fmt.Errorf("store: grant %q: malformed id: %w", id, riscd.ErrNotFound)
	}
	return k, nil
}

// grantRow is a grant's row, as written.
type grantRow struct {
	id, status                       string
	sub, email, digest, prefix, data []byte
}

// grantRowOf seals g into a row.
func (t *Tx) grantRowOf(g riscd.Grant, key []byte) (grantRow, error) {
	d := record.SealGrant(t.keys, key, g)
	data, err := record.Encode(d)
	if err != nil {
		return grantRow{}, fmt.Errorf("store: grant %s: encode: %w", g.ID, err)
	}
	r := grantRow{id: hex.EncodeToString(key), status: string(g.Status), sub: []byte(g.Sub), data: data}
	if g.EmailVerified && g.Email != "" {
		r.email = []byte(strings.ToLower(g.Email))
	}
	if rt := g.RefreshToken.Reveal(); rt != "" {
		r.digest = riscd.RefreshTokenDigest(rt)
		if len(rt) >= riscd.RefreshPrefixLen {
			r.prefix = sha(rt[:riscd.RefreshPrefixLen])
		}
	}
	return r, nil
}

// openGrant decodes a grant's document and opens its secrets.
func (t *Tx) openGrant(id string, data []byte) (riscd.Grant, error) {
	key, err := grantKey(id)
	if err != nil {
		return riscd.Grant{}, fmt.Errorf("store: grant row %q: %w", id, errCorrupt)
	}
	d, err := record.DecodeGrant(key, data)
	if err != nil {
		return riscd.Grant{}, err
	}
	return d.Open(t.keys, key)
}

// grants runs a query returning (id, doc) rows and opens each grant.
func (t *Tx) grants(ctx context.Context, what, sql string, args ...any) ([]riscd.Grant, error) {
	q, err := t.q()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, t.err(what, err)
	}
	defer rows.Close()
	var out []riscd.Grant
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, t.err(what, err)
		}
		g, err := t.openGrant(id, data)
		if err != nil {
			return nil, err
		}
		t.cache.putGrant(id, data)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, t.err(what, err)
	}
	return out, nil
}

// grant reads one grant.
func (t *Tx) grant(ctx context.Context, what, sql string, args ...any) (riscd.Grant, error) {
	gs, err := t.grants(ctx, what, sql, args...)
	if err != nil {
		return riscd.Grant{}, err
	}
	if len(gs) == 0 {
		return riscd.Grant{}, fmt.Errorf("store: %s: %w", what, riscd.ErrNotFound)
	}
	return gs[0], nil
}

// Grant returns the grant id.
func (t *Tx) Grant(ctx context.Context, id string) (riscd.Grant, error) {
	if _, err := grantKey(id); err != nil {
		return riscd.Grant{}, err
	}
	if data, ok := t.cache.grant(id); ok {
		if _, err := t.q(); err != nil {
			return riscd.Grant{}, err
		}
		return t.openGrant(id, data)
	}
	return t.grant(ctx, "grant "+id, `SELECT id, doc FROM riscd_grants WHERE id = $1`, id)
}

// newGrantKey is a new grant id: a time in nanoseconds and 4 random
// bytes. The time is the clock's, or one past the last id's if that is
// not earlier, so ids sort by creation even when the clock steps back. It
// comes from a sequence (riscd_grant_clock), pushed forward to the clock
// with setval: reading the newest grant instead would make every two
// concurrent CreateGrants a serialization failure. Two replicas creating
// grants at the same moment may get the same time (the random part tells
// them apart); their order is then either.
func (t *Tx) newGrantKey(ctx context.Context, q querier) ([]byte, error) {
	var ts int64
	err := q.QueryRow(ctx, `SELECT CASE WHEN v >= $1 THEN v ELSE setval('riscd_grant_clock', $1) END
		FROM nextval('riscd_grant_clock') AS v`, max(nanos(t.now()), 1)).Scan(&ts)
	if err != nil {
		return nil, t.err("create grant", err)
	}
	k := binary.BigEndian.AppendUint64(make([]byte, 0, grantKeySize), uint64(ts))
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return append(k, rnd[:]...), nil
}

// refreshHeld fails with ErrExists if another grant holds digest.
func (t *Tx) refreshHeld(ctx context.Context, q querier, id string, digest []byte) error {
	if digest == nil {
		return nil
	}
	var other string
	err := q.QueryRow(ctx, `SELECT id FROM riscd_grants WHERE refresh_digest = $1`, digest).Scan(&other)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return t.err("grant "+id, err)
	case other != id:
		return fmt.Errorf("store: grant %s: refresh token already held by grant %s: %w", id, other, riscd.ErrExists)
	}
	return nil
}

// CreateGrant stores a new grant and returns it with its ID.
func (t *Tx) CreateGrant(ctx context.Context, g riscd.Grant) (riscd.Grant, error) {
	if g.Sub == "" {
		return riscd.Grant{}, fmt.Errorf("store: create grant: no sub: %w", riscd.ErrInvalid)
	}
	q, err := t.w()
	if err != nil {
		return riscd.Grant{}, err
	}
	key, err := t.newGrantKey(ctx, q)
	if err != nil {
		return riscd.Grant{}, err
	}
	now := t.now()
	g.ID = hex.EncodeToString(key)
	g.CreatedAt, g.UpdatedAt = now, now
	if g.Status == "" {
		g.Status = riscd.GrantActive
	}
	r, err := t.grantRowOf(g, key)
	if err != nil {
		return riscd.Grant{}, err
	}
	// ON CONFLICT rather than a read first: a refresh token held by
	// another grant leaves the transaction usable, and no read makes
	// concurrent creations conflict.
	tag, err := q.Exec(ctx, `INSERT INTO riscd_grants (id, sub, status, email_lower, refresh_digest, refresh_prefix, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (refresh_digest) DO NOTHING`,
		r.id, r.sub, r.status, r.email, r.digest, r.prefix, r.data)
	if err != nil {
		return riscd.Grant{}, t.uniqueErr("create grant", err)
	}
	if tag.RowsAffected() == 0 {
		return riscd.Grant{}, fmt.Errorf("store: create grant: refresh token already held by another grant: %w", riscd.ErrExists)
	}
	t.cache.grantsChanged(g.Sub)
	return record.RoundGrant(g), nil
}

// uniqueErr maps a unique violation to ErrExists.
func (t *Tx) uniqueErr(what string, err error) error {
	if isUnique(err) {
		return fmt.Errorf("store: %s: %w", what, riscd.ErrExists)
	}
	return t.err(what, err)
}

// putGrants updates grants.
var putGrants = &merging{
	name: "put grants",
	one: `UPDATE riscd_grants SET sub = $2, status = $3, email_lower = $4, refresh_digest = $5,
		refresh_prefix = $6, doc = $7 WHERE id = $1`,
	many: `UPDATE riscd_grants g SET sub = v.sub, status = v.status, email_lower = v.email, refresh_digest = v.digest,
		refresh_prefix = v.prefix, doc = v.doc
		FROM unnest($1::text[], $2::bytea[], $3::text[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[])
			AS v(id, sub, status, email, digest, prefix, doc)
		WHERE g.id = v.id`,
	cols: []func([]any) any{column[string](0), column[[]byte](1), column[string](2), column[[]byte](3),
		column[[]byte](4), column[[]byte](5), column[[]byte](6)},
}

// PutGrant replaces the existing grant g.ID.
func (t *Tx) PutGrant(ctx context.Context, g riscd.Grant) error {
	key, err := grantKey(g.ID)
	if err != nil {
		return err
	}
	if g.Sub == "" || g.Status == "" {
		return fmt.Errorf("store: put grant %s: sub and status are required: %w", g.ID, riscd.ErrInvalid)
	}
	q, err := t.w()
	if err != nil {
		return err
	}
	old, err := t.Grant(ctx, g.ID)
	if err != nil {
		return err
	}
	g.CreatedAt, g.UpdatedAt = old.CreatedAt, t.now()
	r, err := t.grantRowOf(g, key)
	if err != nil {
		return err
	}
	if g.RefreshToken != old.RefreshToken {
		if err := t.refreshHeld(ctx, q, g.ID, r.digest); err != nil {
			return err
		}
	}
	if g.RefreshToken == old.RefreshToken {
		// No unique column changes: the update cannot fail on the
		// grant's data, and goes with the next statement.
		if err := t.laterRow(ctx, "put grant "+g.ID, putGrants, r.id, r.id, r.sub, r.status, r.email, r.digest, r.prefix, r.data); err != nil {
			return err
		}
	} else if _, err := q.Exec(ctx, putGrants.one, r.id, r.sub, r.status, r.email, r.digest, r.prefix, r.data); err != nil {
		return t.uniqueErr("put grant "+g.ID, err)
	}
	t.cache.putGrant(r.id, r.data)
	if g.Sub != old.Sub {
		t.cache.grantsChanged(g.Sub, old.Sub)
	}
	return nil
}

// DeleteGrant deletes the grant id.
func (t *Tx) DeleteGrant(ctx context.Context, id string) error {
	if _, err := grantKey(id); err != nil {
		return err
	}
	q, err := t.w()
	if err != nil {
		return err
	}
	tag, err := q.Exec(ctx, `DELETE FROM riscd_grants WHERE id = $1`, id)
	t.cache.dropGrant(id)
	t.cache.grantsChanged()
	if err != nil {
		return t.err("delete grant "+id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("store: grant %s: %w", id, riscd.ErrNotFound)
	}
	return nil
}

// GrantsByVerifiedEmail returns the grants whose verified email is email,
// compared without case.
func (t *Tx) GrantsByVerifiedEmail(ctx context.Context, email string) ([]riscd.Grant, error) {
	if email == "" {
		return nil, nil
	}
	return t.grants(ctx, "grants by email", `SELECT id, doc FROM riscd_grants WHERE email_lower = $1 ORDER BY id`,
		[]byte(strings.ToLower(email)))
}

// GrantsBySub returns the grants of sub.
func (t *Tx) GrantsBySub(ctx context.Context, sub string) ([]riscd.Grant, error) {
	if ids, docs, ok := t.cache.grantsOfSub(sub); ok {
		if _, err := t.q(); err != nil {
			return nil, err
		}
		var out []riscd.Grant
		for i, id := range ids {
			g, err := t.openGrant(id, docs[i])
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	}
	return t.grants(ctx, "grants by sub", `SELECT id, doc FROM riscd_grants WHERE sub = $1 ORDER BY id`, []byte(sub))
}

// GrantByRefreshDigest returns the grant whose refresh token has digest.
func (t *Tx) GrantByRefreshDigest(ctx context.Context, digest []byte) (riscd.Grant, error) {
	if len(digest) != sha512.Size {
		return riscd.Grant{}, fmt.Errorf("store: refresh digest is %d bytes, want %d: %w", len(digest), sha512.Size, riscd.ErrInvalid)
	}
	return t.grant(ctx, "grant by refresh digest", `SELECT id, doc FROM riscd_grants WHERE refresh_digest = $1`, digest)
}

// GrantsByRefreshPrefix returns the grants whose refresh token starts with
// prefix.
func (t *Tx) GrantsByRefreshPrefix(ctx context.Context, prefix string) ([]riscd.Grant, error) {
	if len(prefix) != riscd.RefreshPrefixLen {
		return nil, fmt.Errorf("store: refresh prefix is %d characters, want %d: %w", len(prefix), riscd.RefreshPrefixLen, riscd.ErrInvalid)
	}
	return t.grants(ctx, "grants by refresh prefix", `SELECT id, doc FROM riscd_grants WHERE refresh_prefix = $1 ORDER BY id`, sha(prefix))
}

// CountGrants returns the number of grants in each status.
func (t *Tx) CountGrants(ctx context.Context) (map[riscd.GrantStatus]int, error) {
	q, err := t.q()
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT status, count(*) FROM riscd_grants GROUP BY status`)
	if err != nil {
		return nil, t.err("count grants", err)
	}
	defer rows.Close()
	out := map[riscd.GrantStatus]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, t.err("count grants", err)
		}
		out[riscd.GrantStatus(st)] = n
	}
	return out, t.err("count grants", rows.Err())
}

// ListGrants returns a page of matching grants, newest first.
func (t *Tx) ListGrants(ctx context.Context, q riscd.GrantQuery) ([]riscd.Grant, string, error) {
	limit := riscd.PageLimit(q.Limit)
	sql := `SELECT id, doc FROM riscd_grants WHERE true`
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		sql += " AND " + cond + " $" + strconv.Itoa(len(args))
	}
	if q.Cursor != "" {
		if _, err := grantKey(q.Cursor); err != nil {
			return nil, "", fmt.Errorf("store: list grants: bad cursor: %w", riscd.ErrInvalid)
		}
		arg("id <", q.Cursor)
	}
	if q.Sub != "" {
		arg("sub =", []byte(q.Sub))
	}
	if q.Status != "" {
		arg("status =", string(q.Status))
	}
	sql += " ORDER BY id DESC"
	tx, err := t.q()
	if err != nil {
		return nil, "", err
	}
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", t.err("list grants", err)
	}
	defer rows.Close()
	var out []riscd.Grant
	next := ""
	for rows.Next() {
		var id string
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, "", t.err("list grants", err)
		}
		g, err := t.openGrant(id, data)
		if err != nil {
			if q.Skip == nil || !errors.Is(err, errCorrupt) {
				return nil, "", err
			}
			q.Skip(id, err)
			continue
		}
		if q.Scope != "" && !slices.Contains(g.Scopes, q.Scope) {
			continue
		}
		if len(out) == limit {
			next = out[len(out)-1].ID
			break
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, "", t.err("list grants", err)
	}
	return out, next, nil
}
