package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/riscd/riscd"
	"github.com/riscd/riscd/store/internal/record"
)

var _ riscd.Prefetcher = (*DB)(nil)

// BatchPrefetch is Batch with p read, with the prefetches of the calls
// sharing the transaction, at its start, in one round trip: the rows land
// in the transaction's cache (see rowCache), where the functions' reads
// find them.
func (db *DB) BatchPrefetch(ctx context.Context, p riscd.Prefetch, fn func(riscd.Tx) error) error {
	return db.batchWith(ctx, p, fn)
}

// prefetchSQL are the prefetch's statements, in the order prefetch reads
// their results. Each takes one array; the lookups are the ones the
// single-row reads make, on the same indexes (write transactions disable
// sequential scans), so they take the same predicate locks.
var prefetchSQL = [...]string{
	`SELECT key_hash, doc FROM riscd_marks WHERE key_hash = ANY($1)`,
	`SELECT sub, doc FROM riscd_accounts WHERE sub = ANY($1)`,
	`SELECT id, sub, doc FROM riscd_grants WHERE sub = ANY($1) ORDER BY sub, id`,
	`SELECT sub, created_ns FROM riscd_sessions WHERE sub = ANY($1)`,
	`SELECT app_user, sub, created_ns FROM riscd_app_user_links WHERE sub = ANY($1) ORDER BY sub, app_user`,
	`SELECT ` + inboxCols + ` FROM riscd_inbox WHERE id = ANY($1)`,
}

// prefetch reads what p names into t's cache, in one round trip (with the
// writes queued before it), skipping what the cache holds already.
func (t *Tx) prefetch(ctx context.Context, p riscd.Prefetch) error {
	if t.pipe == nil || t.cache == nil {
		return nil
	}
	if _, err := t.q(); err != nil {
		return err
	}
	c := t.cache
	var marks [][]byte
	for _, k := range p.Marks {
		if record.CheckMarkKey(k) != nil {
			continue
		}
		if _, ok := c.mark(sha(k)); !ok && !slices.ContainsFunc(marks, func(h []byte) bool { return string(h) == string(sha(k)) }) {
			marks = append(marks, sha(k))
		}
	}
	var subs [][]byte
	var subNames []string
	for _, s := range p.Subs {
		_, known := c.grantsOf[s]
		if s == "" || known || slices.Contains(subNames, s) {
			continue
		}
		subs, subNames = append(subs, []byte(s)), append(subNames, s)
	}
	var ids []int64
	for _, id := range p.Inbox {
		if _, ok := c.entry(int64(id)); ok || id > 1<<63-1 || slices.Contains(ids, int64(id)) {
			continue
		}
		ids = append(ids, int64(id))
	}
	audit := 0
	if len(t.auditIDs) == 0 {
		audit = min(p.Audit, maxPrefetchAudit)
	}
	if len(marks)+len(subs)+len(ids)+audit == 0 {
		return nil
	}
	args := [len(prefetchSQL)]any{marks, subs, subs, subs, subs, ids}
	stmts := make([]stmt, len(prefetchSQL), len(prefetchSQL)+1)
	for i, sql := range prefetchSQL {
		stmts[i] = stmt{sql, []any{args[i]}}
	}
	if audit > 0 {
		stmts = append(stmts, stmt{auditIDsSQL, []any{audit}})
	}
	br, err := t.pipe.send(ctx, stmts...)
	if err != nil {
		return err
	}
	if err := t.readPrefetch(br, marks, subNames); err == nil && audit > 0 {
		err = t.readAuditIDs(br, audit)
	}
	if err != nil {
		_ = br.Close()
		return t.err("prefetch", err)
	}
	return t.err("prefetch", br.Close())
}

// maxPrefetchAudit bounds how many audit ids a prefetch takes.
const maxPrefetchAudit = 4096

// readAuditIDs reads the answer of auditIDsSQL for n ids into t.auditIDs.
func (t *Tx) readAuditIDs(br pgx.BatchResults, n int) error {
	ids := make([]int64, 0, n)
	var id int64
	if err := rowsOf(br, []any{&id}, func() { ids = append(ids, id) }); err != nil {
		return err
	}
	slices.Sort(ids)
	t.auditIDs, t.auditTake = ids, len(ids)
	return nil
}

// readPrefetch reads the results of prefetchSQL's statements into the
// cache. Only complete answers are kept: an error leaves the cache
// holding rows read before it, each as stored.
func (t *Tx) readPrefetch(br pgx.BatchResults, marks [][]byte, subs []string) error {
	c := t.cache
	var (
		k, v, sub []byte
		id        string
		n         *int64
		eid       int64
	)
	found := map[string]bool{}
	if err := rowsOf(br, []any{&k, &v}, func() { c.putMark(k, v); found[string(k)] = true }); err != nil {
		return err
	}
	for _, h := range marks {
		if !found[string(h)] {
			c.putMark(h, nil)
		}
	}
	accounts := map[string][]byte{}
	if err := rowsOf(br, []any{&sub, &v}, func() { accounts[string(sub)] = v }); err != nil {
		return err
	}
	grants := map[string][]string{}
	if err := rowsOf(br, []any{&id, &sub, &v}, func() {
		grants[string(sub)] = append(grants[string(sub)], id)
		c.putGrant(id, v)
	}); err != nil {
		return err
	}
	sessions := map[string][]int64{}
	var created int64
	if err := rowsOf(br, []any{&sub, &created}, func() { sessions[string(sub)] = append(sessions[string(sub)], created) }); err != nil {
		return err
	}
	links := map[string][]riscd.AppUserLink{}
	var appUser []byte
	if err := rowsOf(br, []any{&appUser, &sub, &n}, func() {
		links[string(sub)] = append(links[string(sub)], riscd.AppUserLink{AppUser: string(appUser), Sub: string(sub), CreatedAt: fromNanos(n)})
	}); err != nil {
		return err
	}
	for _, s := range subs {
		c.putAccount(s, accounts[s]) // nil: none
		put(&c.grantsOf, s, grants[s])
		put(&c.sessionsOf, s, sessions[s])
		put(&c.linksOf, s, links[s])
	}
	return rowsOf(br, []any{&eid, &k, &v}, func() { c.putEntry(eid, k, v) })
}

// rowsOf reads the batch's next result, scanning each row into dst and
// calling fn.
func rowsOf(br pgx.BatchResults, dst []any, fn func()) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return err
		}
		fn()
	}
	return rows.Err()
}
