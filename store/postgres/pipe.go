package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pipe is a write transaction whose writes may be deferred: a write whose
// answer its caller does not need (an UPDATE or INSERT that cannot fail
// but for the database's own reasons, such as a serialization failure) is
// queued, and the queue is sent ahead of the next statement that needs an
// answer, or before the commit, as one pipeline: one round trip for all of
// them (PostgreSQL 15 manual, 55.2.4 Pipelining; pgx's Batch). Statements
// still run in the order they were issued, in the one transaction, so
// every later read sees the earlier writes.
//
// A deferred write that fails aborts the transaction: the statement that
// carried it fails with its error, and so does everything after it
// (PostgreSQL refuses further statements until the rollback); failed then
// holds the failure and the owner that queued the write, so that a
// batch can tell which of its functions failed. The rows merged into one
// statement are blamed on the first row's owner: if another's row failed,
// the first runs alone (and succeeds) and the batch runs again without it,
// until the failing row is first or alone.
type pipe struct {
	db     *DB
	tx     pgx.Tx
	queue  []deferred
	owner  any   // whose writes are queued now: a batch's request, or nil
	failed error // the first failure of a deferred write, once one failed
	by     any   // the owner of that write
}

// deferred is one queued write.
type deferred struct {
	what  string
	sql   string
	args  []any
	owner any

	// A write of a kind that merges: its row's key (rows of equal keys
	// keep the last; "" never equals another).
	kind *merging
	key  string
}

// laterRow queues a write: with others of its kind queued beside it, if
// the kind merges (has many), it is sent as one statement.
func (p *pipe) laterRow(what string, kind *merging, key string, args ...any) {
	d := deferred{what: what, sql: kind.one, args: args, owner: p.owner}
	if kind.many != "" {
		d.kind, d.key = kind, key
	}
	p.queue = append(p.queue, d)
}

// merging is a kind of deferred write whose queued rows are sent as one
// statement, taking one array of each column (unnest). Each kind is the
// only write of its table that is deferred, and no table's rows depend on
// another's (no foreign key, no trigger), so the queue's writes commute
// but for those of one row, which merge keeps in order: the rows of one
// key, of which the last wins (each row is written whole).
type merging struct {
	name string
	one  string            // the statement for one row
	many string            // the statement for many, $n the column n's array; empty: never merges
	cols []func([]any) any // each makes column n's array of the rows' nth values
}

// column returns a merging column of values of type T.
func column[T any](i int) func([]any) any {
	return func(rows []any) any {
		out := make([]T, len(rows))
		for j, r := range rows {
			out[j] = r.([]any)[i].(T)
		}
		return out
	}
}

// merged returns the queue with the rows of each kind as one statement,
// in the place of the kind's first row.
func merged(queue []deferred) []deferred {
	kinds := 0
	for _, d := range queue {
		if d.kind != nil {
			kinds++
		}
	}
	if kinds < 2 {
		return queue
	}
	out := make([]deferred, 0, len(queue))
	rows := map[*merging][]any{}
	keys := map[*merging]map[string]int{}
	at := map[*merging]int{}
	for _, d := range queue {
		if d.kind == nil {
			out = append(out, d)
			continue
		}
		if _, ok := at[d.kind]; !ok {
			at[d.kind] = len(out)
			keys[d.kind] = map[string]int{}
			out = append(out, d)
		}
		if i, ok := keys[d.kind][d.key]; ok && d.key != "" {
			rows[d.kind][i] = d.args
			continue
		}
		keys[d.kind][d.key] = len(rows[d.kind])
		rows[d.kind] = append(rows[d.kind], d.args)
	}
	for k, i := range at {
		if len(rows[k]) == 1 {
			out[i].args = rows[k][0].([]any)
			continue
		}
		args := make([]any, len(k.cols))
		for n, col := range k.cols {
			args[n] = col(rows[k])
		}
		out[i].sql, out[i].args = k.many, args
		out[i].what = fmt.Sprintf("%s (%d rows)", k.name, len(rows[k]))
	}
	return out
}

// stmt is one statement of a pipeline.
type stmt struct {
	sql  string
	args []any
}

// send sends the queued writes and then stmts in one batch; it returns
// the batch with the writes' results read, positioned at the first of
// stmts. The caller reads stmts' results and closes it.
func (p *pipe) send(ctx context.Context, stmts ...stmt) (pgx.BatchResults, error) {
	queue := merged(p.queue)
	p.queue = nil
	b := &pgx.Batch{}
	for _, d := range queue {
		b.Queue(d.sql, d.args...)
	}
	for _, s := range stmts {
		b.Queue(s.sql, s.args...)
	}
	br := p.tx.SendBatch(ctx, b)
	for _, d := range queue {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			err = p.db.errorf("store: "+d.what, err)
			if ctx.Err() == nil && p.failed == nil {
				p.failed, p.by = err, d.owner
			}
			return nil, err
		}
	}
	return br, nil
}

// flush sends the queued writes, if any.
func (p *pipe) flush(ctx context.Context) error {
	if len(p.queue) == 0 {
		return p.failed
	}
	br, err := p.send(ctx)
	if err != nil {
		return err
	}
	return br.Close()
}

// Exec runs sql after the queued writes.
func (p *pipe) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if len(p.queue) == 0 {
		return p.tx.Exec(ctx, sql, args...)
	}
	br, err := p.send(ctx, stmt{sql, args})
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query runs sql after the queued writes.
func (p *pipe) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if len(p.queue) == 0 {
		return p.tx.Query(ctx, sql, args...)
	}
	br, err := p.send(ctx, stmt{sql, args})
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow runs sql after the queued writes.
func (p *pipe) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if len(p.queue) == 0 {
		return p.tx.QueryRow(ctx, sql, args...)
	}
	rows, err := p.Query(ctx, sql, args...)
	return &oneRow{rows: rows, err: err}
}

// batchRows are a batch's last rows: closing them closes the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.Rows.Close()
	r.err = r.br.Close()
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// oneRow is pgx.Row over rows: the first row, or pgx.ErrNoRows.
type oneRow struct {
	rows pgx.Rows
	err  error
}

func (r *oneRow) Scan(dst ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dst...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

var _ querier = (*pipe)(nil)
