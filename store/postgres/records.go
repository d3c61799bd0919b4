package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

// scanOne runs a query returning one row; ErrNotFound (wrapped with what)
// when it returns none.
func (t *Tx) scanOne(ctx context.Context, what string, dst []any, sql string, args ...any) error {
	q, err := t.q()
	if err != nil {
		return err
	}
	err = q.QueryRow(ctx, sql, args...).Scan(dst...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", what, riscd.ErrNotFound)
	}
	return t.err(what, err)
}

// exec runs a write.
func (t *Tx) exec(ctx context.Context, what, sql string, args ...any) (int, error) {
	q, err := t.w()
	if err != nil {
		return 0, err
	}
	tag, err := q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, t.uniqueErr(what, err)
	}
	return int(tag.RowsAffected()), nil
}

// each runs a query and calls fn for each row's scanned values until it
// returns false.
func (t *Tx) each(ctx context.Context, what string, dst []any, fn func() (bool, error), sql string, args ...any) error {
	q, err := t.q()
	if err != nil {
		return err
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return t.err(what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return t.err(what, err)
		}
		more, err := fn()
		if err != nil || !more {
			return err
		}
	}
	return t.err(what, rows.Err())
}

// ---- accounts

// Account returns the account of sub.
func (t *Tx) Account(ctx context.Context, sub string) (riscd.Account, error) {
	what := fmt.Sprintf("account %q", sub)
	data, ok := t.cache.account(sub)
	if !ok {
		err := t.scanOne(ctx, what, []any{&data}, `SELECT doc FROM riscd_accounts WHERE sub = $1`, []byte(sub))
		if err != nil && !errors.Is(err, riscd.ErrNotFound) {
			return riscd.Account{}, err
		}
		t.cache.putAccount(sub, data) // nil when there is none
	}
	if data == nil {
		return riscd.Account{}, fmt.Errorf("store: %s: %w", what, riscd.ErrNotFound)
	}
	return record.DecodeAccount(sub, data)
}

// PutAccount creates or replaces the account a.Sub.
func (t *Tx) PutAccount(ctx context.Context, a riscd.Account) error {
	if a.Sub == "" {
		return fmt.Errorf("store: put account: no sub: %w", riscd.ErrInvalid)
	}
	if _, err := t.w(); err != nil {
		return err
	}
	now := t.now()
	old, err := t.Account(ctx, a.Sub)
	switch {
	case err == nil:
		a.CreatedAt = old.CreatedAt
	case errors.Is(err, riscd.ErrNotFound):
		a.CreatedAt = now
	default:
		return err
	}
	a.UpdatedAt = now
	r := record.AccountOf(a)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: account %q: encode: %w", a.Sub, err)
	}
	// An upsert cannot fail on the row's account: it goes with the
	// next statement.
	err = t.laterRow(ctx, fmt.Sprintf("account %q", a.Sub), putAccounts, a.Sub, []byte(a.Sub), a.NeedsAttention(), data)
	if err == nil {
		t.cache.putAccount(a.Sub, data)
	}
	return err
}

// putAccounts writes accounts.
var putAccounts = &merging{
	name: "put accounts",
	one: `INSERT INTO riscd_accounts (sub, attention, doc) VALUES ($1, $2, $3)
		ON CONFLICT (sub) DO UPDATE SET attention = excluded.attention, doc = excluded.doc`,
	many: `INSERT INTO riscd_accounts (sub, attention, doc) SELECT * FROM unnest($1::bytea[], $2::boolean[], $3::bytea[])
		ON CONFLICT (sub) DO UPDATE SET attention = excluded.attention, doc = excluded.doc`,
	cols: []func([]any) any{column[[]byte](0), column[bool](1), column[[]byte](2)},
}

// AccountsNeedingAttention returns up to limit accounts needing attention,
// in Sub order after after.
func (t *Tx) AccountsNeedingAttention(ctx context.Context, after string, limit int) ([]riscd.Account, error) {
	limit = riscd.PageLimit(limit)
	var out []riscd.Account
	var sub, data []byte
	err := t.each(ctx, "accounts needing attention", []any{&sub, &data}, func() (bool, error) {
		a, err := record.DecodeAccount(string(sub), data)
		if err != nil {
			return false, err
		}
		out = append(out, a)
		return true, nil
	}, `SELECT sub, doc FROM riscd_accounts WHERE attention AND sub > $1 ORDER BY sub LIMIT $2`, []byte(after), limit)
	return out, err
}

// ---- audit

// AppendAudit appends e to the audit log.
func (t *Tx) AppendAudit(ctx context.Context, e riscd.AuditEntry) (riscd.AuditEntry, error) {
	q, err := t.w()
	if err != nil {
		return riscd.AuditEntry{}, err
	}
	if e.At.IsZero() {
		e.At = t.now()
	}
	r := record.AuditOf(e)
	data, err := record.Encode(r)
	if err != nil {
		return riscd.AuditEntry{}, fmt.Errorf("store: append audit: encode: %w", err)
	}
	if t.pipe == nil {
		var id int64
		err = q.QueryRow(ctx, `INSERT INTO riscd_audit (id, sub, doc) VALUES (nextval('riscd_audit_id'), $1, $2) RETURNING id`,
			nullBytes(e.Sub), data).Scan(&id)
		if err != nil {
			return riscd.AuditEntry{}, t.err("append audit", err)
		}
		return record.DecodeAudit(uint64(id), data)
	}
	// In a write transaction the id comes first, from the ids this
	// transaction took from the sequence, and the insert, which cannot
	// fail on its data, goes with the next statement.
	id, err := t.auditID(ctx, q)
	if err != nil {
		return riscd.AuditEntry{}, err
	}
	if err := t.laterRow(ctx, "append audit", appendAudit, "", id, nullBytes(e.Sub), data); err != nil {
		return riscd.AuditEntry{}, err
	}
	return record.DecodeAudit(uint64(id), data)
}

// appendAudit inserts audit entries.
var appendAudit = &merging{
	name: "append audit",
	one:  `INSERT INTO riscd_audit (id, sub, doc) VALUES ($1, $2, $3)`,
	many: `INSERT INTO riscd_audit (id, sub, doc) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])`,
	cols: []func([]any) any{column[int64](0), column[[]byte](1), column[[]byte](2)},
}

// auditIDsSQL takes $1 audit ids from the sequence.
const auditIDsSQL = `SELECT nextval('riscd_audit_id') FROM generate_series(1, $1)`

// maxAuditIDs bounds how many audit ids a transaction takes at once.
const maxAuditIDs = 64

// auditID returns the next of the audit ids this transaction took from
// the sequence, taking more when none is left: one the first time, then
// twice as many as the last time (up to maxAuditIDs), so that a
// transaction appending one entry takes one id and one appending many
// (a batch of events, five entries each) takes them in a few round trips.
// The ids it does not use are skipped, as a rolled-back transaction's are
// (PostgreSQL 15 manual, 9.17 Sequence Manipulation Functions).
func (t *Tx) auditID(ctx context.Context, q querier) (int64, error) {
	if len(t.auditIDs) == 0 {
		t.auditTake = min(max(2*t.auditTake, 1), maxAuditIDs)
		ids := make([]int64, 0, t.auditTake)
		var id int64
		err := t.each(ctx, "append audit", []any{&id}, func() (bool, error) {
			ids = append(ids, id)
			return true, nil
		}, auditIDsSQL, t.auditTake)
		if err != nil {
			return 0, err
		}
		if len(ids) == 0 {
			return 0, fmt.Errorf("store: append audit: the sequence gave no id")
		}
		slices.Sort(ids)
		t.auditIDs = ids
	}
	id := t.auditIDs[0]
	t.auditIDs = t.auditIDs[1:]
	return id, nil
}

// ListAudit returns a page of audit entries, newest first.
func (t *Tx) ListAudit(ctx context.Context, q riscd.AuditQuery) ([]riscd.AuditEntry, string, error) {
	limit := riscd.PageLimit(q.Limit)
	before := int64(-1)
	if q.Cursor != "" {
		id, err := strconv.ParseUint(q.Cursor, 10, 63)
		if err != nil {
			return nil, "", fmt.Errorf("store: list audit: bad cursor: %w", riscd.ErrInvalid)
		}
		before = int64(id)
	}
	sql := `SELECT id, doc FROM riscd_audit WHERE ($1 < 0 OR id < $1)`
	args := []any{before, limit + 1}
	if q.Sub != "" {
		sql += ` AND sub = $3`
		args = append(args, []byte(q.Sub))
	}
	sql += ` ORDER BY id DESC LIMIT $2`
	var out []riscd.AuditEntry
	var id int64
	var data []byte
	err := t.each(ctx, "list audit", []any{&id, &data}, func() (bool, error) {
		e, err := record.DecodeAudit(uint64(id), data)
		if err != nil {
			return false, err
		}
		out = append(out, e)
		return true, nil
	}, sql, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatUint(out[limit-1].ID, 10)
	}
	return out, next, nil
}

// ---- marks

// Mark returns the mark key.
func (t *Tx) Mark(ctx context.Context, key string) (riscd.Mark, error) {
	if err := record.CheckMarkKey(key); err != nil {
		return riscd.Mark{}, err
	}
	hash := sha(key)
	data, ok := t.cache.mark(hash)
	if !ok {
		err := t.scanOne(ctx, "mark", []any{&data}, `SELECT doc FROM riscd_marks WHERE key_hash = $1`, hash)
		if err != nil && !errors.Is(err, riscd.ErrNotFound) {
			return riscd.Mark{}, err
		}
		t.cache.putMark(hash, data) // nil when there is none
	}
	if data == nil {
		return riscd.Mark{}, fmt.Errorf("store: mark: %w", riscd.ErrNotFound)
	}
	return record.DecodeMark(hash, data)
}

// putMarks inserts marks (each of a key read absent: keys never repeat).
var putMarks = &merging{
	name: "put marks",
	one:  `INSERT INTO riscd_marks (key_hash, key, doc) VALUES ($1, $2, $3)`,
	many: `INSERT INTO riscd_marks (key_hash, key, doc) SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bytea[])`,
	cols: []func([]any) any{column[[]byte](0), column[[]byte](1), column[[]byte](2)},
}

// PutMark records m unless its key is already marked.
func (t *Tx) PutMark(ctx context.Context, m riscd.Mark) (riscd.Mark, bool, error) {
	if err := record.CheckMarkKey(m.Key); err != nil {
		return riscd.Mark{}, false, err
	}
	if _, err := t.w(); err != nil {
		return riscd.Mark{}, false, err
	}
	old, err := t.Mark(ctx, m.Key)
	if err == nil || !errors.Is(err, riscd.ErrNotFound) {
		return old, false, err
	}
	if m.At.IsZero() {
		m.At = t.now()
	}
	r := record.MarkOf(m)
	data, err := record.Encode(r)
	if err != nil {
		return riscd.Mark{}, false, fmt.Errorf("store: mark: encode: %w", err)
	}
	// The key was read absent in this transaction: another transaction
	// inserting it meanwhile fails this one (a serialization failure or
	// a unique violation), which the insert may as well report with the
	// next statement.
	if err := t.laterRow(ctx, "mark", putMarks, "", sha(m.Key), []byte(m.Key), data); err != nil {
		return riscd.Mark{}, false, err
	}
	t.cache.putMark(sha(m.Key), data)
	m.At = record.Round(m.At)
	return m, true, nil
}

// ---- flows

// CreateFlow stores a new consent flow under the SHA-256 of its id.
func (t *Tx) CreateFlow(ctx context.Context, f riscd.Flow) error {
	if f.ID.IsZero() {
		return fmt.Errorf("store: create flow: empty id: %w", riscd.ErrInvalid)
	}
	if _, err := t.w(); err != nil {
		return err
	}
	key := sha(f.ID.Reveal())
	var one int
	err := t.scanOne(ctx, "flow", []any{&one}, `SELECT 1 FROM riscd_flows WHERE id_hash = $1`, key)
	if err == nil {
		return fmt.Errorf("store: create flow: %w", riscd.ErrExists)
	}
	if !errors.Is(err, riscd.ErrNotFound) {
		return err
	}
	if f.CreatedAt.IsZero() {
		f.CreatedAt = t.now()
	}
	r := record.SealFlow(t.keys, key, f)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: create flow: encode: %w", err)
	}
	_, err = t.exec(ctx, "create flow", `INSERT INTO riscd_flows (id_hash, created_ns, doc) VALUES ($1, $2, $3)`,
		key, nanos(f.CreatedAt), data)
	return err
}

// openFlow decodes a flow's document and opens its secrets.
func (t *Tx) openFlow(id riscd.Secret, key, data []byte) (riscd.Flow, error) {
	r, err := record.DecodeFlow(key, data)
	if err != nil {
		return riscd.Flow{}, err
	}
	return r.Open(t.keys, key, id)
}

// TakeFlow returns the flow id and deletes it.
func (t *Tx) TakeFlow(ctx context.Context, id riscd.Secret) (riscd.Flow, error) {
	q, err := t.w()
	if err != nil {
		return riscd.Flow{}, err
	}
	key := sha(id.Reveal())
	var data []byte
	if err := t.scanOne(ctx, "flow", []any{&data}, `SELECT doc FROM riscd_flows WHERE id_hash = $1`, key); err != nil {
		return riscd.Flow{}, err
	}
	f, err := t.openFlow(id, key, data)
	if err != nil {
		return riscd.Flow{}, err
	}
	if _, err := q.Exec(ctx, `DELETE FROM riscd_flows WHERE id_hash = $1`, key); err != nil {
		return riscd.Flow{}, t.err("take flow", err)
	}
	return f, nil
}

const flowSweepBatch = 500

// sweepFlows deletes the decodable flows created before before among up
// to limit (0: all) from the one after from on; it returns the last key it
// read when it stopped at limit.
func (t *Tx) sweepFlows(ctx context.Context, before time.Time, from []byte, limit int) (riscd.FlowSweep, []byte, error) {
	var sw riscd.FlowSweep
	q, err := t.w()
	if err != nil {
		return sw, nil, err
	}
	lim := int64(limit)
	if limit <= 0 {
		lim = -1
	}
	var doomed [][]byte
	var last []byte
	read := 0
	var key, data []byte
	err = t.each(ctx, "sweep flows", []any{&key, &data}, func() (bool, error) {
		read++
		last = append([]byte(nil), key...)
		d, err := record.DecodeFlow(key, data)
		if err != nil {
			sw.Undecodable++
			return true, nil
		}
		if d.CreatedAt.Time().Before(before) {
			doomed = append(doomed, last)
		}
		return true, nil
	}, `SELECT id_hash, doc FROM riscd_flows WHERE id_hash > $1 ORDER BY id_hash LIMIT CASE WHEN $2::bigint < 0 THEN NULL ELSE $2::bigint END`,
		from, lim)
	if err != nil {
		return sw, nil, err
	}
	if len(doomed) > 0 {
		tag, err := q.Exec(ctx, `DELETE FROM riscd_flows WHERE id_hash = ANY($1)`, doomed)
		if err != nil {
			return sw, nil, t.err("sweep flows", err)
		}
		sw.Deleted = int(tag.RowsAffected())
	}
	if limit > 0 && read == limit {
		return sw, last, nil
	}
	return sw, nil, nil
}

// DeleteFlowsBefore deletes the flows created before before.
func (t *Tx) DeleteFlowsBefore(ctx context.Context, before time.Time) (int, error) {
	sw, _, err := t.sweepFlows(ctx, before, []byte{}, 0)
	return sw.Deleted, err
}

// SweepFlows removes the flows created before before, in short
// transactions; undecodable ones are counted and left alone.
func (db *DB) SweepFlows(ctx context.Context, before time.Time) (riscd.FlowSweep, error) {
	return record.SweepFlows([]byte{}, func(from []byte) (riscd.FlowSweep, []byte, error) {
		var sw riscd.FlowSweep
		var next []byte
		err := db.updateTx(ctx, func(t *Tx) error {
			var err error
			sw, next, err = t.sweepFlows(ctx, before, from, flowSweepBatch)
			return err
		})
		return sw, next, err
	})
}

// ---- sessions

// CreateSession stores a new session under the SHA-256 of its id.
func (t *Tx) CreateSession(ctx context.Context, s riscd.Session) error {
	if s.ID.IsZero() {
		return fmt.Errorf("store: create session: empty id: %w", riscd.ErrInvalid)
	}
	if _, err := t.w(); err != nil {
		return err
	}
	key := sha(s.ID.Reveal())
	var one int
	err := t.scanOne(ctx, "session", []any{&one}, `SELECT 1 FROM riscd_sessions WHERE id_hash = $1`, key)
	if err == nil {
		return fmt.Errorf("store: create session: %w", riscd.ErrExists)
	}
	if !errors.Is(err, riscd.ErrNotFound) {
		return err
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = t.now()
	}
	r := record.SealSession(t.keys, key, s)
	data, err := record.Encode(r)
	if err != nil {
		return fmt.Errorf("store: create session: encode: %w", err)
	}
	_, err = t.exec(ctx, "create session", `INSERT INTO riscd_sessions (id_hash, sub, created_ns, expires_ns, doc)
		VALUES ($1, $2, $3, $4, $5)`, key, nullBytes(s.Sub), nanos(s.CreatedAt), nullNanos(s.ExpiresAt), data)
	t.cache.sessionsChanged(s.Sub)
	return err
}

// Session returns the session id unless it has expired.
func (t *Tx) Session(ctx context.Context, id riscd.Secret) (riscd.Session, error) {
	key := sha(id.Reveal())
	var data []byte
	if err := t.scanOne(ctx, "session", []any{&data}, `SELECT doc FROM riscd_sessions WHERE id_hash = $1`, key); err != nil {
		return riscd.Session{}, err
	}
	r, err := record.DecodeSession(key, data)
	if err != nil {
		return riscd.Session{}, err
	}
	if exp := r.ExpiresAt.Time(); !exp.IsZero() && !t.now().Before(exp) {
		return riscd.Session{}, fmt.Errorf("store: session expired: %w", riscd.ErrNotFound)
	}
	return r.Open(t.keys, key, id)
}

// DeleteSession deletes the session id.
func (t *Tx) DeleteSession(ctx context.Context, id riscd.Secret) error {
	n, err := t.exec(ctx, "delete session", `DELETE FROM riscd_sessions WHERE id_hash = $1`, sha(id.Reveal()))
	t.cache.sessionsChanged()
	if err == nil && n == 0 {
		err = fmt.Errorf("store: session: %w", riscd.ErrNotFound)
	}
	return err
}

// DeleteSessionsOf deletes the sessions of sub created before
// createdBefore (all of them if it is zero).
func (t *Tx) DeleteSessionsOf(ctx context.Context, sub string, createdBefore time.Time) (int, error) {
	if created, ok := t.cache.sessionsOfSub(sub); ok {
		// The sessions of sub were read in this transaction: count those
		// to delete, and delete them, if any, with the next statement.
		if _, err := t.w(); err != nil {
			return 0, err
		}
		before := nanos(createdBefore)
		keep := make([]int64, 0, len(created))
		for _, c := range created {
			if !createdBefore.IsZero() && c >= before {
				keep = append(keep, c)
			}
		}
		n := len(created) - len(keep)
		if n == 0 {
			return 0, nil
		}
		var err error
		if createdBefore.IsZero() {
			err = t.later(ctx, "delete sessions", `DELETE FROM riscd_sessions WHERE sub = $1`, []byte(sub))
		} else {
			err = t.later(ctx, "delete sessions", `DELETE FROM riscd_sessions WHERE sub = $1 AND created_ns < $2`,
				[]byte(sub), before)
		}
		if err != nil {
			return 0, err
		}
		t.cache.putSessionsOf(sub, keep)
		return n, nil
	}
	if createdBefore.IsZero() {
		return t.exec(ctx, "delete sessions", `DELETE FROM riscd_sessions WHERE sub = $1`, []byte(sub))
	}
	return t.exec(ctx, "delete sessions", `DELETE FROM riscd_sessions WHERE sub = $1 AND created_ns < $2`,
		[]byte(sub), nanos(createdBefore))
}

// DeleteExpiredSessions deletes the expired sessions.
func (t *Tx) DeleteExpiredSessions(ctx context.Context) (int, error) {
	t.cache.sessionsChanged()
	return t.exec(ctx, "delete expired sessions", `DELETE FROM riscd_sessions WHERE expires_ns <= $1`, nanos(t.now()))
}
