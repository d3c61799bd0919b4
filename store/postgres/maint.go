package postgres

import (
	"bytes"
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

const pruneBatch = 500

// Count counts the store's records.
func (db *DB) Count(ctx context.Context) (riscd.Counts, error) {
	var c riscd.Counts
	err := db.View(ctx, func(rt riscd.ReadTx) error {
		t := rt.(*Tx)
		return t.scanOne(ctx, "count", []any{&c.Grants, &c.Accounts, &c.Sessions, &c.Flows,
			&c.InboxPending, &c.InboxDone, &c.InboxParked, &c.Inbox, &c.OutboxPending, &c.OutboxFailed, &c.Outbox, &c.Audit, &c.Marks, &c.Connect, &c.AppUserLinks},
			`SELECT (SELECT count(*) FROM riscd_grants), (SELECT count(*) FROM riscd_accounts),
				(SELECT count(*) FROM riscd_sessions), (SELECT count(*) FROM riscd_flows),
				(SELECT count(*) FROM riscd_inbox WHERE status = 'pending'),
				(SELECT count(*) FROM riscd_inbox WHERE status = 'done'),
				(SELECT count(*) FROM riscd_inbox WHERE status = 'parked'),
				(SELECT count(*) FROM riscd_inbox),
				(SELECT count(*) FROM riscd_outbox WHERE status = 'pending'),
				(SELECT count(*) FROM riscd_outbox WHERE status = 'failed'),
				(SELECT count(*) FROM riscd_outbox), (SELECT count(*) FROM riscd_audit),
				(SELECT count(*) FROM riscd_marks), (SELECT count(*) FROM riscd_connect),
				(SELECT count(*) FROM riscd_app_user_links)`)
	})
	return c, err
}

// Prune removes the done inbox entries and done outbox jobs finished
// before cutoff (an entry's DoneAt, or its ReceivedAt if that is zero), in
// transactions of up to pruneBatch rows.
func (db *DB) Prune(ctx context.Context, cutoff time.Time) (riscd.Pruned, error) {
	var p riscd.Pruned
	for _, step := range []struct {
		dst  *int
		what string
		sql  string
	}{
		{&p.Events, "prune events", `DELETE FROM riscd_inbox WHERE id IN (SELECT id FROM riscd_inbox
			WHERE status = 'done' AND done_ns < $1 ORDER BY id LIMIT $2)`},
		{&p.Jobs, "prune outbox", `DELETE FROM riscd_outbox WHERE id IN (SELECT id FROM riscd_outbox
			WHERE status = 'done' AND coalesce(done_ns, -9223372036854775808) < $1 ORDER BY id LIMIT $2)`},
	} {
		for {
			n, err := update(ctx, db, func(t *Tx) (int, error) {
				return t.exec(ctx, step.what, step.sql, nanos(cutoff), pruneBatch)
			})
			*step.dst += n
			if err != nil {
				return p, err
			}
			if n < pruneBatch {
				break
			}
		}
	}
	return p, nil
}

// Check reads every row, decodes its document, opens its ciphertexts and
// verifies the columns derived from it, and returns an error naming the
// first inconsistency, or nil.
func (db *DB) Check(ctx context.Context) error {
	return db.View(ctx, func(rt riscd.ReadTx) error {
		t := rt.(*Tx)
		for _, check := range []func(context.Context) error{
			t.checkKeys, t.checkGrants, t.checkAccounts, t.checkAudit, t.checkFlows, t.checkSessions,
			t.checkMarks, t.checkInbox, t.checkOutbox, t.checkAdminSessions, t.checkConnect, t.checkLinks,
		} {
			if err := check(ctx); err != nil {
				return fmt.Errorf("store check: %w", err)
			}
		}
		return nil
	})
}

// mismatch is a derived column that disagrees with its document.
func mismatch(what, col string) error {
	return fmt.Errorf("store: %s: column %s disagrees with the record: %w", what, col, riscd.ErrCorrupt)
}

func (t *Tx) checkKeys(ctx context.Context) error {
	var id, ct []byte
	return t.each(ctx, "check keys", []any{&id, &ct}, func() (bool, error) {
		plain, err := t.keys.Open(ct, record.TableKeys, id, "check")
		if err != nil {
			return false, fmt.Errorf("key %x: %w", id, err)
		}
		if plain != keyCheck {
			return false, fmt.Errorf("key %x: wrong check value: %w", id, riscd.ErrWrongKey)
		}
		return true, nil
	}, `SELECT id, check_value FROM riscd_keys`)
}

func (t *Tx) checkGrants(ctx context.Context) error {
	var id, status string
	var sub, email, digest, prefix, data []byte
	return t.each(ctx, "check grants", []any{&id, &sub, &status, &email, &digest, &prefix, &data}, func() (bool, error) {
		g, err := t.openGrant(id, data)
		if err != nil {
			return false, err
		}
		key, _ := grantKey(id)
		r, err := t.grantRowOf(g, key)
		if err != nil {
			return false, err
		}
		what := "grant " + id
		switch {
		case !bytes.Equal(sub, r.sub):
			return false, mismatch(what, "sub")
		case status != r.status:
			return false, mismatch(what, "status")
		case !bytes.Equal(email, r.email):
			return false, mismatch(what, "email_lower")
		case !bytes.Equal(digest, r.digest):
			return false, mismatch(what, "refresh_digest")
		case !bytes.Equal(prefix, r.prefix):
			return false, mismatch(what, "refresh_prefix")
		}
		return true, nil
	}, `SELECT id, sub, status, email_lower, refresh_digest, refresh_prefix, doc FROM riscd_grants ORDER BY id`)
}

func (t *Tx) checkAccounts(ctx context.Context) error {
	var sub, data []byte
	var attention bool
	return t.each(ctx, "check accounts", []any{&sub, &attention, &data}, func() (bool, error) {
		a, err := record.DecodeAccount(string(sub), data)
		if err != nil {
			return false, err
		}
		if a.NeedsAttention() != attention {
			return false, mismatch(fmt.Sprintf("account %q", sub), "attention")
		}
		return true, nil
	}, `SELECT sub, attention, doc FROM riscd_accounts ORDER BY sub`)
}

func (t *Tx) checkAudit(ctx context.Context) error {
	var id int64
	var sub, data []byte
	return t.each(ctx, "check audit", []any{&id, &sub, &data}, func() (bool, error) {
		d, err := record.DecodeAudit(uint64(id), data)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(sub, nullBytes(d.Sub)) && !isInvalidUTF8(sub) {
			return false, mismatch(fmt.Sprintf("audit entry %d", id), "sub")
		}
		return true, nil
	}, `SELECT id, sub, doc FROM riscd_audit ORDER BY id`)
}

// isInvalidUTF8 reports whether b is not valid UTF-8: such a string reads
// back from a JSON document changed, so a column holding it cannot be
// compared with the document.
func isInvalidUTF8(b []byte) bool { return !utf8.Valid(b) }

func validUTF8(b []byte) bool { return utf8.Valid(b) }

func (t *Tx) checkFlows(ctx context.Context) error {
	var key, data []byte
	var created int64
	return t.each(ctx, "check flows", []any{&key, &created, &data}, func() (bool, error) {
		f, err := t.openFlow("", key, data)
		if err != nil {
			return false, err
		}
		if created != nanos(f.CreatedAt) {
			return false, mismatch(fmt.Sprintf("flow %x", key[:8]), "created_ns")
		}
		return true, nil
	}, `SELECT id_hash, created_ns, doc FROM riscd_flows ORDER BY id_hash`)
}

func (t *Tx) checkSessions(ctx context.Context) error {
	var key, sub, data []byte
	var created int64
	var expires *int64
	return t.each(ctx, "check sessions", []any{&key, &sub, &created, &expires, &data}, func() (bool, error) {
		what := fmt.Sprintf("session %x", key[:8])
		d, err := record.DecodeSession(key, data)
		if err != nil {
			return false, err
		}
		if _, err := d.Open(t.keys, key, ""); err != nil {
			return false, err
		}
		exp := nullNanos(d.ExpiresAt.Time())
		switch {
		case created != nanos(d.CreatedAt.Time()):
			return false, mismatch(what, "created_ns")
		case (exp == nil) != (expires == nil) || (exp != nil && *exp != *expires):
			return false, mismatch(what, "expires_ns")
		case !bytes.Equal(sub, nullBytes(d.Sub)) && validUTF8(sub):
			return false, mismatch(what, "sub")
		}
		return true, nil
	}, `SELECT id_hash, sub, created_ns, expires_ns, doc FROM riscd_sessions ORDER BY id_hash`)
}

func (t *Tx) checkMarks(ctx context.Context) error {
	var hash, key, data []byte
	audits := map[int64][]byte{} // audit id: a mark naming it
	err := t.each(ctx, "check marks", []any{&hash, &key, &data}, func() (bool, error) {
		m, err := record.DecodeMark(hash, data)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(hash, sha(m.Key)) {
			return false, mismatch(fmt.Sprintf("mark %x", hash[:8]), "key_hash")
		}
		if m.AuditID != 0 {
			audits[int64(m.AuditID)] = append([]byte(nil), hash[:8]...)
		}
		return true, nil
	}, `SELECT key_hash, key, doc FROM riscd_marks ORDER BY key_hash`)
	if err != nil || len(audits) == 0 {
		return err
	}
	ids := make([]int64, 0, len(audits))
	for id := range audits {
		ids = append(ids, id)
	}
	var id int64
	err = t.each(ctx, "check marks", []any{&id}, func() (bool, error) {
		delete(audits, id)
		return true, nil
	}, `SELECT id FROM riscd_audit WHERE id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	for id, mark := range audits {
		return fmt.Errorf("store: mark %x: audit entry %d: %w", mark, id, riscd.ErrNotFound)
	}
	return nil
}

func (t *Tx) checkInbox(ctx context.Context) error {
	var id, done int64
	var jh, subject, data []byte
	var status string
	return t.each(ctx, "check inbox", []any{&id, &jh, &status, &subject, &done, &data}, func() (bool, error) {
		e, err := openInbox(t.db, id, jh, data)
		if err != nil {
			return false, err
		}
		what := fmt.Sprintf("inbox entry %d", id)
		r, err := sealInbox(t.db, e, e.Claims, jh)
		if err != nil {
			return false, err
		}
		switch {
		case validUTF8([]byte(e.Iss+e.JTI)) && !bytes.Equal(jh, record.JTIKey(e.Iss, e.JTI)):
			return false, mismatch(what, "jti_hash")
		case status != r.status:
			return false, mismatch(what, "status")
		case done != r.doneNs:
			return false, mismatch(what, "done_ns")
		case !bytes.Equal(subject, r.subject) && validUTF8(subject):
			return false, mismatch(what, "subject")
		}
		return true, nil
	}, `SELECT id, jti_hash, status, subject, done_ns, doc FROM riscd_inbox ORDER BY id`)
}

func (t *Tx) checkOutbox(ctx context.Context) error {
	var id int64
	var done *int64
	var status string
	var data []byte
	return t.each(ctx, "check outbox", []any{&id, &status, &done, &data}, func() (bool, error) {
		j, err := openOutbox(t.db, id, data)
		if err != nil {
			return false, err
		}
		what := fmt.Sprintf("outbox job %d", id)
		want := nullNanos(j.DoneAt)
		switch {
		case status != string(j.Status):
			return false, mismatch(what, "status")
		case (want == nil) != (done == nil) || (want != nil && *want != *done):
			return false, mismatch(what, "done_ns")
		}
		return true, nil
	}, `SELECT id, status, done_ns, doc FROM riscd_outbox ORDER BY id`)
}
