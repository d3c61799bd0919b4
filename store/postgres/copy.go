package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

// Export calls fn with every record, read in one snapshot (a read-only
// REPEATABLE READ transaction): accounts, grants, audit entries, marks,
// sessions, flows, inbox entries, outbox jobs, connect sessions and
// app-user links, each kind in key order.
func (db *DB) Export(ctx context.Context, fn func(riscd.Record) error) error {
	return db.View(ctx, func(rt riscd.ReadTx) error {
		t := rt.(*Tx)
		for _, kind := range []func(context.Context, func(riscd.Record) error) error{
			t.exportAccounts, t.exportGrants, t.exportAudit, t.exportMarks, t.exportSessions, t.exportFlows,
			t.exportInbox, t.exportOutbox, t.exportConnect, t.exportLinks,
		} {
			if err := kind(ctx, fn); err != nil {
				return err
			}
		}
		return nil
	})
}

// exportRows runs sql and hands each row's record to fn. A record that
// fails to decode or open fails the export, named; fn's error is returned
// as it is.
func (t *Tx) exportRows(ctx context.Context, dst []any, rec func() (riscd.Record, error), fn func(riscd.Record) error, sql string) error {
	var fnErr error
	err := t.each(ctx, "export", dst, func() (bool, error) {
		r, err := rec()
		if err != nil {
			return false, fmt.Errorf("store: export: %w", err)
		}
		if fnErr = fn(r); fnErr != nil {
			return false, nil
		}
		return true, ctx.Err()
	}, sql)
	if fnErr != nil {
		return fnErr
	}
	return err
}

func (t *Tx) exportAccounts(ctx context.Context, fn func(riscd.Record) error) error {
	var sub, data []byte
	return t.exportRows(ctx, []any{&sub, &data}, func() (riscd.Record, error) {
		a, err := record.DecodeAccount(string(sub), data)
		return riscd.Record{Account: &a}, err
	}, fn, `SELECT sub, doc FROM riscd_accounts ORDER BY sub`)
}

func (t *Tx) exportGrants(ctx context.Context, fn func(riscd.Record) error) error {
	var id string
	var data []byte
	return t.exportRows(ctx, []any{&id, &data}, func() (riscd.Record, error) {
		g, err := t.openGrant(id, data)
		return riscd.Record{Grant: &g}, err
	}, fn, `SELECT id, doc FROM riscd_grants ORDER BY id`)
}

func (t *Tx) exportAudit(ctx context.Context, fn func(riscd.Record) error) error {
	var id int64
	var data []byte
	return t.exportRows(ctx, []any{&id, &data}, func() (riscd.Record, error) {
		e, err := record.DecodeAudit(uint64(id), data)
		return riscd.Record{Audit: &e}, err
	}, fn, `SELECT id, doc FROM riscd_audit ORDER BY id`)
}

func (t *Tx) exportMarks(ctx context.Context, fn func(riscd.Record) error) error {
	var key, data []byte
	return t.exportRows(ctx, []any{&key, &data}, func() (riscd.Record, error) {
		m, err := record.DecodeMark(key, data)
		return riscd.Record{Mark: &m}, err
	}, fn, `SELECT key, doc FROM riscd_marks ORDER BY key_hash`)
}

func (t *Tx) exportSessions(ctx context.Context, fn func(riscd.Record) error) error {
	var key, data []byte
	return t.exportRows(ctx, []any{&key, &data}, func() (riscd.Record, error) {
		r, err := record.DecodeSession(key, data)
		if err != nil {
			return riscd.Record{}, err
		}
		s, err := r.Open(t.keys, key, "")
		return riscd.Record{Session: &s, IDDigest: append([]byte(nil), key...)}, err
	}, fn, `SELECT id_hash, doc FROM riscd_sessions ORDER BY id_hash`)
}

func (t *Tx) exportFlows(ctx context.Context, fn func(riscd.Record) error) error {
	var key, data []byte
	return t.exportRows(ctx, []any{&key, &data}, func() (riscd.Record, error) {
		f, err := t.openFlow("", key, data)
		return riscd.Record{Flow: &f, IDDigest: append([]byte(nil), key...)}, err
	}, fn, `SELECT id_hash, doc FROM riscd_flows ORDER BY id_hash`)
}

func (t *Tx) exportInbox(ctx context.Context, fn func(riscd.Record) error) error {
	var id int64
	var jh, data []byte
	return t.exportRows(ctx, []any{&id, &jh, &data}, func() (riscd.Record, error) {
		e, err := openInbox(t.db, id, jh, data)
		return riscd.Record{Inbox: &e}, err
	}, fn, `SELECT id, jti_hash, doc FROM riscd_inbox ORDER BY id`)
}

func (t *Tx) exportOutbox(ctx context.Context, fn func(riscd.Record) error) error {
	var id int64
	var data []byte
	return t.exportRows(ctx, []any{&id, &data}, func() (riscd.Record, error) {
		j, err := openOutbox(t.db, id, data)
		return riscd.Record{Outbox: &j}, err
	}, fn, `SELECT id, doc FROM riscd_outbox ORDER BY id`)
}

// Import writes every record src yields into the store, which must be
// empty, in transactions of record.ImportBatch records; see riscd.Importer.
func (db *DB) Import(ctx context.Context, src riscd.RecordSource) error {
	return record.Import(ctx, src, func(batch []riscd.Record, first bool) error {
		return db.updateTx(ctx, func(t *Tx) error {
			if first {
				if err := t.checkEmpty(ctx); err != nil {
					return err
				}
			}
			var top tops
			for i := range batch {
				if err := t.importRecord(ctx, &batch[i], &top); err != nil {
					return fmt.Errorf("store: import: %w", err)
				}
			}
			return t.raiseSequences(ctx, top)
		})
	})
}

// tops are the largest IDs an import batch wrote, which the sequences
// must continue after.
type tops struct {
	inbox, outbox, audit, grantClock int64
}

func (t *Tx) checkEmpty(ctx context.Context) error {
	for _, table := range []string{"riscd_accounts", "riscd_grants", "riscd_audit", "riscd_marks", "riscd_sessions",
		"riscd_flows", "riscd_inbox", "riscd_outbox", "riscd_connect", "riscd_app_user_links"} {
		var found bool
		if err := t.scanOne(ctx, "import", []any{&found}, `SELECT EXISTS (SELECT 1 FROM `+table+`)`); err != nil {
			return err
		}
		if found {
			return fmt.Errorf("store: import: the store is not empty (it holds %s): %w", table, riscd.ErrExists)
		}
	}
	return nil
}

// raiseSequences makes the ID sequences continue after the imported IDs,
// and new grants' ids sort after the imported grants'.
func (t *Tx) raiseSequences(ctx context.Context, top tops) error {
	for _, s := range []struct {
		seq string
		top int64
	}{{"riscd_inbox_id", top.inbox}, {"riscd_outbox_id", top.outbox}, {"riscd_audit_id", top.audit}, {"riscd_grant_clock", top.grantClock}} {
		if s.top <= 0 {
			continue
		}
		if _, err := t.exec(ctx, "import", `SELECT setval($1::regclass, greatest($2,
			(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM `+s.seq+`)))`, s.seq, s.top); err != nil {
			return err
		}
	}
	return nil
}

// insertNew runs an INSERT ... ON CONFLICT DO NOTHING and fails with
// ErrExists when the row was there.
func (t *Tx) insertNew(ctx context.Context, what, sql string, args ...any) error {
	n, err := t.exec(ctx, what, sql+` ON CONFLICT DO NOTHING`, args...)
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: given twice: %w", what, riscd.ErrExists)
	}
	return err
}

// idDigest is the key a session or flow record is stored under.
func idDigest(id riscd.Secret, digest []byte) ([]byte, error) {
	switch {
	case digest != nil && len(digest) != sha256.Size:
		return nil, fmt.Errorf("id digest of %d bytes, want %d: %w", len(digest), sha256.Size, riscd.ErrInvalid)
	case digest != nil:
		return append([]byte(nil), digest...), nil
	case id.IsZero():
		return nil, fmt.Errorf("neither an id nor its digest: %w", riscd.ErrInvalid)
	}
	return riscd.IDDigest(id), nil
}

func (t *Tx) importRecord(ctx context.Context, r *riscd.Record, top *tops) error {
	t.cache.reset() // its inserts bypass the cache
	if err := record.CheckKinds(r); err != nil {
		return err
	}
	switch {
	case r.Connect != nil:
		return t.importConnect(ctx, *r.Connect)
	case r.Link != nil:
		return t.importLink(ctx, *r.Link)
	case r.Grant != nil:
		g := *r.Grant
		key, err := grantKey(g.ID)
		if err != nil {
			return fmt.Errorf("grant %q: malformed id: %w", g.ID, riscd.ErrInvalid)
		}
		if g.Sub == "" || g.Status == "" {
			return fmt.Errorf("grant %s: sub and status are required: %w", g.ID, riscd.ErrInvalid)
		}
		row, err := t.grantRowOf(g, key)
		if err != nil {
			return err
		}
		top.grantClock = max(top.grantClock, int64(binary.BigEndian.Uint64(key)&(1<<63-1)))
		return t.insertNew(ctx, "grant "+g.ID, `INSERT INTO riscd_grants (id, sub, status, email_lower, refresh_digest,
			refresh_prefix, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			row.id, row.sub, row.status, row.email, row.digest, row.prefix, row.data)
	case r.Account != nil:
		a := *r.Account
		if a.Sub == "" {
			return fmt.Errorf("account without a sub: %w", riscd.ErrInvalid)
		}
		data, err := record.Encode(record.AccountOf(a))
		if err != nil {
			return err
		}
		return t.insertNew(ctx, fmt.Sprintf("account %q", a.Sub), `INSERT INTO riscd_accounts (sub, attention, doc)
			VALUES ($1, $2, $3)`, []byte(a.Sub), a.NeedsAttention(), data)
	case r.Session != nil:
		s := *r.Session
		key, err := idDigest(s.ID, r.IDDigest)
		if err != nil {
			return fmt.Errorf("session: %w", err)
		}
		data, err := record.Encode(record.SealSession(t.keys, key, s))
		if err != nil {
			return err
		}
		return t.insertNew(ctx, fmt.Sprintf("session %x", key[:8]), `INSERT INTO riscd_sessions (id_hash, sub,
			created_ns, expires_ns, doc) VALUES ($1, $2, $3, $4, $5)`,
			key, nullBytes(s.Sub), nanos(s.CreatedAt), nullNanos(s.ExpiresAt), data)
	case r.Flow != nil:
		f := *r.Flow
		key, err := idDigest(f.ID, r.IDDigest)
		if err != nil {
			return fmt.Errorf("flow: %w", err)
		}
		data, err := record.Encode(record.SealFlow(t.keys, key, f))
		if err != nil {
			return err
		}
		return t.insertNew(ctx, fmt.Sprintf("flow %x", key[:8]), `INSERT INTO riscd_flows (id_hash, created_ns, doc)
			VALUES ($1, $2, $3)`, key, nanos(f.CreatedAt), data)
	case r.Inbox != nil:
		e := *r.Inbox
		if e.ID == 0 || e.ID > 1<<63-1 || e.Iss == "" || e.JTI == "" || e.Status == "" {
			return fmt.Errorf("inbox entry %d: id, iss, jti and status are required: %w", e.ID, riscd.ErrInvalid)
		}
		row, err := t.inboxRowOf(e, e.Claims, nil)
		if err != nil {
			return err
		}
		top.inbox = max(top.inbox, int64(e.ID))
		return t.insertNew(ctx, fmt.Sprintf("inbox entry %d", e.ID), `INSERT INTO riscd_inbox (id, jti_hash, status,
			subject, done_ns, doc) VALUES ($1, $2, $3, $4, $5, $6)`,
			int64(e.ID), row.jh, row.status, row.subject, row.doneNs, row.data)
	case r.Outbox != nil:
		j := *r.Outbox
		if j.ID == 0 || j.ID > 1<<63-1 || j.Kind == "" || j.Status == "" {
			return fmt.Errorf("outbox job %d: id, kind and status are required: %w", j.ID, riscd.ErrInvalid)
		}
		data, err := t.outboxDocOf(j)
		if err != nil {
			return err
		}
		top.outbox = max(top.outbox, int64(j.ID))
		return t.insertNew(ctx, fmt.Sprintf("outbox job %d", j.ID), `INSERT INTO riscd_outbox (id, status, done_ns, doc)
			VALUES ($1, $2, $3, $4)`, int64(j.ID), string(j.Status), nullNanos(j.DoneAt), data)
	case r.Audit != nil:
		e := *r.Audit
		if e.ID == 0 || e.ID > 1<<63-1 {
			return fmt.Errorf("audit entry without an id: %w", riscd.ErrInvalid)
		}
		data, err := record.Encode(record.AuditOf(e))
		if err != nil {
			return err
		}
		top.audit = max(top.audit, int64(e.ID))
		return t.insertNew(ctx, fmt.Sprintf("audit entry %d", e.ID), `INSERT INTO riscd_audit (id, sub, doc)
			VALUES ($1, $2, $3)`, int64(e.ID), nullBytes(e.Sub), data)
	default:
		m := *r.Mark
		if err := record.CheckMarkKey(m.Key); err != nil {
			return err
		}
		data, err := record.Encode(record.MarkOf(m))
		if err != nil {
			return err
		}
		return t.insertNew(ctx, "mark", `INSERT INTO riscd_marks (key_hash, key, doc) VALUES ($1, $2, $3)`,
			sha(m.Key), []byte(m.Key), data)
	}
}
