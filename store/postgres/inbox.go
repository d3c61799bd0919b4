package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

// Advisory lock keys (transaction level) that serialize the inserts of
// inbox entries and of outbox jobs: taken before nextval and held to
// commit, they make IDs commit in increasing order (see doc.go).
const (
	inboxLockKey  = 0x72697363_64000002
	outboxLockKey = 0x72697363_64000003
)

// notifyChannel is the channel every inbox commit notifies.
const notifyChannel = "riscd_inbox"

// inboxRow is an entry's row, as written (without its id).
type inboxRow struct {
	jh      []byte
	status  string
	subject []byte
	doneNs  int64
	data    []byte
	stored  riscd.InboxEntry // the entry as it reads back
}

// inboxRowOf seals e into a row. kept is the claims stored before, which
// may be passed back unchanged even if not valid UTF-8.
// jh is the row's jti_hash, or nil for a new entry's.
func (t *Tx) inboxRowOf(e riscd.InboxEntry, kept, jh []byte) (inboxRow, error) {
	return sealInbox(t.db, e, kept, jh)
}

func sealInbox(db *DB, e riscd.InboxEntry, kept, jh []byte) (inboxRow, error) {
	if jh == nil {
		jh = record.JTIKey(e.Iss, e.JTI)
	}
	d, err := record.SealInboxUnder(db.keys, jh, e, kept)
	if err != nil {
		return inboxRow{}, fmt.Errorf("store: inbox entry %d: %w", e.ID, err)
	}
	data, err := record.Encode(d.Inbox)
	if err != nil {
		return inboxRow{}, fmt.Errorf("store: inbox entry %d: encode: %w", e.ID, err)
	}
	stored, err := openInbox(db, int64(e.ID), jh, data)
	if err != nil {
		return inboxRow{}, err
	}
	done := e.DoneAt
	if done.IsZero() {
		done = e.ReceivedAt
	}
	return inboxRow{jh: jh, status: string(e.Status), subject: nullBytes(e.Subject), doneNs: nanos(done),
		data: data, stored: stored}, nil
}

// openInbox decodes an entry's document and opens its secrets, bound to
// its jti_hash jh.
func openInbox(db *DB, id int64, jh, data []byte) (riscd.InboxEntry, error) {
	return record.DecodeInbox(db.keys, uint64(id), jh, data)
}

// inboxDefaults fills in what PutInbox defaults.
func inboxDefaults(e riscd.InboxEntry, now func() time.Time) riscd.InboxEntry {
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = now()
	}
	if e.Status == "" {
		e.Status = riscd.InboxPending
	}
	e.ID = 0
	return e
}

const inboxCols = `id, jti_hash, doc`

// entries runs a query returning inboxCols rows and opens each entry,
// calling fn until it returns false.
func (t *Tx) entries(ctx context.Context, what string, fn func(riscd.InboxEntry) bool, sql string, args ...any) error {
	var id int64
	var jh, data []byte
	return t.each(ctx, what, []any{&id, &jh, &data}, func() (bool, error) {
		e, err := openInbox(t.db, id, jh, data)
		if err != nil {
			return false, err
		}
		t.cache.putEntry(id, jh, data)
		return fn(e), nil
	}, sql, args...)
}

func (t *Tx) entryList(ctx context.Context, what, sql string, args ...any) ([]riscd.InboxEntry, error) {
	var out []riscd.InboxEntry
	err := t.entries(ctx, what, func(e riscd.InboxEntry) bool { out = append(out, e); return true }, sql, args...)
	return out, err
}

func (t *Tx) entry(ctx context.Context, what, sql string, args ...any) (riscd.InboxEntry, error) {
	es, err := t.entryList(ctx, what, sql, args...)
	if err != nil {
		return riscd.InboxEntry{}, err
	}
	if len(es) == 0 {
		return riscd.InboxEntry{}, fmt.Errorf("store: %s: %w", what, riscd.ErrNotFound)
	}
	return es[0], nil
}

// InboxEntry returns the inbox entry id.
func (t *Tx) InboxEntry(ctx context.Context, id uint64) (riscd.InboxEntry, error) {
	if id > 1<<63-1 {
		return riscd.InboxEntry{}, fmt.Errorf("store: inbox entry %d: %w", id, riscd.ErrNotFound)
	}
	if d, ok := t.cache.entry(int64(id)); ok {
		if _, err := t.q(); err != nil {
			return riscd.InboxEntry{}, err
		}
		return openInbox(t.db, int64(id), d.jh, d.doc)
	}
	return t.entry(ctx, fmt.Sprintf("inbox entry %d", id), `SELECT `+inboxCols+` FROM riscd_inbox WHERE id = $1`, int64(id))
}

// InboxByJTI returns the entry of the SET iss and jti name.
func (t *Tx) InboxByJTI(ctx context.Context, iss, jti string) (riscd.InboxEntry, error) {
	return t.entry(ctx, fmt.Sprintf("inbox entry %q %q", iss, jti),
		`SELECT `+inboxCols+` FROM riscd_inbox WHERE jti_hash = $1`, record.JTIKey(iss, jti))
}

// PendingInbox returns up to limit pending entries in arrival order.
func (t *Tx) PendingInbox(ctx context.Context, limit int) ([]riscd.InboxEntry, error) {
	return t.PendingInboxAfter(ctx, 0, limit)
}

// PendingInboxAfter is PendingInbox from the entry after ID after on.
func (t *Tx) PendingInboxAfter(ctx context.Context, after uint64, limit int) ([]riscd.InboxEntry, error) {
	if after >= 1<<63-1 {
		return nil, nil
	}
	return t.entryList(ctx, "pending inbox", `SELECT `+inboxCols+` FROM riscd_inbox
		WHERE status = 'pending' AND id > $1 ORDER BY id LIMIT $2`, int64(after), riscd.PageLimit(limit))
}

// CountInbox returns the number of entries in status.
func (t *Tx) CountInbox(ctx context.Context, status riscd.InboxStatus) (int, error) {
	var n int
	err := t.scanOne(ctx, "count inbox", []any{&n}, `SELECT count(*) FROM riscd_inbox WHERE status = $1`, string(status))
	return n, err
}

// ListInbox returns a page of matching entries, newest first.
func (t *Tx) ListInbox(ctx context.Context, q riscd.InboxQuery) ([]riscd.InboxEntry, string, error) {
	limit := riscd.PageLimit(q.Limit)
	sql := `SELECT ` + inboxCols + ` FROM riscd_inbox WHERE true`
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		sql += " AND " + cond + " $" + strconv.Itoa(len(args))
	}
	if q.Cursor != "" {
		id, err := strconv.ParseUint(q.Cursor, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("store: list inbox: bad cursor: %w", riscd.ErrInvalid)
		}
		if id == 0 {
			return nil, "", nil
		}
		if id <= 1<<63-1 {
			arg("id <", int64(id))
		}
	}
	if q.Status != "" {
		arg("status =", string(q.Status))
	}
	if q.Subject != "" {
		arg("subject =", []byte(q.Subject))
	}
	sql += " ORDER BY id DESC"
	var out []riscd.InboxEntry
	next := ""
	err := t.entries(ctx, "list inbox", func(e riscd.InboxEntry) bool {
		if q.Type != "" && !slices.Contains(e.Types, q.Type) {
			return true
		}
		if len(out) == limit {
			next = strconv.FormatUint(out[len(out)-1].ID, 10)
			return false
		}
		out = append(out, e)
		return true
	}, sql, args...)
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// insertInboxSQL inserts an entry unless its (iss, jti) is there, and
// returns the row that holds it either way, whether it is new, and the
// transaction's id. The caller holds the inbox lock, so a conflicting row
// was committed before this statement's snapshot, or is this
// transaction's own: the second SELECT sees it.
const insertInboxSQL = `WITH ins AS (
	INSERT INTO riscd_inbox (id, jti_hash, status, subject, done_ns, doc)
	VALUES (nextval('riscd_inbox_id'), $1, $2, $3, $4, $5)
	ON CONFLICT (jti_hash) DO NOTHING RETURNING id, doc)
SELECT id, doc, true, txid_current() FROM ins
UNION ALL
SELECT id, doc, false, txid_current() FROM riscd_inbox WHERE jti_hash = $1 AND NOT EXISTS (SELECT 1 FROM ins)`

// PutInbox stores e unless an entry with its (iss, jti) is there.
func (t *Tx) PutInbox(ctx context.Context, e riscd.InboxEntry) (riscd.InboxEntry, bool, error) {
	if e.Iss == "" || e.JTI == "" {
		return riscd.InboxEntry{}, false, fmt.Errorf("store: put inbox: iss and jti are required: %w", riscd.ErrInvalid)
	}
	q, err := t.w()
	if err != nil {
		return riscd.InboxEntry{}, false, err
	}
	old, err := t.InboxByJTI(ctx, e.Iss, e.JTI)
	if err == nil || !errors.Is(err, riscd.ErrNotFound) {
		return old, false, err
	}
	r, err := t.inboxRowOf(inboxDefaults(e, t.now), nil, nil)
	if err != nil {
		return riscd.InboxEntry{}, false, err
	}
	if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(inboxLockKey)); err != nil {
		return riscd.InboxEntry{}, false, t.err("put inbox", err)
	}
	var id, txid int64
	var data []byte
	var created bool
	err = q.QueryRow(ctx, insertInboxSQL, r.jh, r.status, r.subject, r.doneNs, r.data).Scan(&id, &data, &created, &txid)
	if err != nil {
		return riscd.InboxEntry{}, false, t.err("put inbox", err)
	}
	if !created {
		got, err := openInbox(t.db, id, r.jh, data)
		return got, false, err
	}
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil {
		return riscd.InboxEntry{}, false, t.err("put inbox", err)
	}
	t.inboxed = true
	stored := r.stored
	stored.ID = uint64(id)
	return stored, true, nil
}

// putEntries updates inbox entries.
var putEntries = &merging{
	name: "put inbox entries",
	one:  `UPDATE riscd_inbox SET status = $2, subject = $3, done_ns = $4, doc = $5 WHERE id = $1`,
	many: `UPDATE riscd_inbox i SET status = v.status, subject = v.subject, done_ns = v.done, doc = v.doc
		FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::bigint[], $5::bytea[]) AS v(id, status, subject, done, doc)
		WHERE i.id = v.id`,
	cols: []func([]any) any{column[int64](0), column[string](1), column[[]byte](2), column[int64](3), column[[]byte](4)},
}

// PutInboxEntry replaces the existing inbox entry e.ID.
func (t *Tx) PutInboxEntry(ctx context.Context, e riscd.InboxEntry) error {
	if _, err := t.w(); err != nil {
		return err
	}
	if e.ID > 1<<63-1 {
		return fmt.Errorf("store: inbox entry %d: %w", e.ID, riscd.ErrNotFound)
	}
	// The entry and its row's jti_hash, in one statement unless this
	// transaction read or wrote it already.
	d, ok := t.cache.entry(int64(e.ID))
	jh, data := d.jh, d.doc
	if !ok {
		if err := t.scanOne(ctx, fmt.Sprintf("inbox entry %d", e.ID), []any{&jh, &data},
			`SELECT jti_hash, doc FROM riscd_inbox WHERE id = $1`, int64(e.ID)); err != nil {
			return err
		}
	}
	old, err := openInbox(t.db, int64(e.ID), jh, data)
	if err != nil {
		return err
	}
	if e.Iss != old.Iss || e.JTI != old.JTI {
		return fmt.Errorf("store: inbox entry %d: iss and jti cannot change: %w", e.ID, riscd.ErrInvalid)
	}
	if e.Status == "" {
		return fmt.Errorf("store: inbox entry %d: empty status: %w", e.ID, riscd.ErrInvalid)
	}
	r, err := t.inboxRowOf(e, old.Claims, jh) // the row's binding, even if iss or jti read back changed
	if err != nil {
		return err
	}
	// The row is there (read above, in this transaction's snapshot) and
	// no unique column changes: the update goes with the next statement.
	err = t.laterRow(ctx, fmt.Sprintf("inbox entry %d", e.ID), putEntries, strconv.FormatUint(e.ID, 10),
		int64(e.ID), r.status, r.subject, r.doneNs, r.data)
	if err == nil {
		t.cache.putEntry(int64(e.ID), jh, r.data)
	}
	return err
}
