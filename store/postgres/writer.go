package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riscd/riscd"
)

// maxGroup bounds how many entries one inbox commit takes.
const maxGroup = 1000

// groupTimeout bounds one group commit: once a group is sent, its callers
// wait for its outcome whatever their contexts, so that none is told
// "nothing was committed" about an entry that was.
const groupTimeout = 30 * time.Second

// Inbox returns the writer received SETs are accepted through.
func (db *DB) Inbox() riscd.InboxWriter { return db.writer }

// OnInboxApplied sets fn to be called, from a goroutine of the store's,
// after this process's inbox commits and other replicas' (heard through
// LISTEN). Calls coalesce: one call may stand for many commits.
func (db *DB) OnInboxApplied(fn func()) { db.applied.set(fn) }

// inboxWriter group-commits PutInbox calls: a caller queues its entry and,
// if no commit is running, starts one; a running commit, once done, takes
// everything queued meanwhile. Each group is one implicit transaction sent
// as one pipeline: one round trip and one WAL flush for all its entries.
type inboxWriter struct {
	db      *DB
	mu      sync.Mutex
	queue   []*inboxReq
	running bool
	closed  bool
	idle    sync.Cond // signalled when running turns false

	// onGroup, if set (tests), is told of each committed group: how many
	// entries and the ids of the transactions they were inserted in.
	onGroup func(n int, txids []int64)
	// queued, if set (tests), is told each time a caller queues.
	queued func()
}

func newInboxWriter(db *DB) *inboxWriter {
	w := &inboxWriter{db: db}
	w.idle.L = &w.mu
	return w
}

type inboxReq struct {
	ctx  context.Context
	row  inboxRow
	done chan inboxResult
}

type inboxResult struct {
	e       riscd.InboxEntry
	created bool
	err     error
}

// PutInbox commits e under its unique (Iss, JTI) before it returns: the
// new entry and true, the existing entry and false for a duplicate, or an
// error when nothing was committed.
func (w *inboxWriter) PutInbox(ctx context.Context, e riscd.InboxEntry) (riscd.InboxEntry, bool, error) {
	if e.Iss == "" || e.JTI == "" {
		return riscd.InboxEntry{}, false, fmt.Errorf("store: put inbox: iss and jti are required: %w", riscd.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return riscd.InboxEntry{}, false, err
	}
	row, err := sealInbox(w.db, inboxDefaults(e, w.db.now), nil, nil)
	if err != nil {
		return riscd.InboxEntry{}, false, err
	}
	req := &inboxReq{ctx: ctx, row: row, done: make(chan inboxResult, 1)}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return riscd.InboxEntry{}, false, fmt.Errorf("store: put inbox: %w", riscd.ErrClosed)
	}
	w.queue = append(w.queue, req)
	start := !w.running
	w.running = true
	queued := w.queued
	w.mu.Unlock()
	if queued != nil {
		queued()
	}
	if start {
		go w.loop()
	}
	r := <-req.done
	return r.e, r.created, r.err
}

// loop commits groups until the queue is empty.
func (w *inboxWriter) loop() {
	for {
		w.mu.Lock()
		n := min(len(w.queue), maxGroup)
		group := w.queue[:n:n]
		w.queue = w.queue[n:]
		if n == 0 {
			w.running = false
			w.idle.Broadcast()
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		w.commit(group)
	}
}

// commit sends one group as one pipeline in one implicit transaction.
func (w *inboxWriter) commit(group []*inboxReq) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- inboxResult{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	results, txids, err := w.send(ctx, live)
	if err != nil {
		err = w.db.errorf("store: put inbox", err)
		for _, r := range live {
			r.done <- inboxResult{err: err}
		}
		return
	}
	if f := w.onGroup; f != nil {
		f(len(live), txids)
	}
	w.db.applied.signal()
	for i, r := range live {
		r.done <- results[i]
	}
}

func (w *inboxWriter) send(ctx context.Context, group []*inboxReq) ([]inboxResult, []int64, error) {
	if w.db.closed.Load() {
		return nil, nil, riscd.ErrClosed
	}
	b := &pgx.Batch{}
	// A batch outside BEGIN is one implicit transaction (one Sync): all of
	// it commits or none. synchronous_commit on: the commit returns once
	// its WAL is flushed.
	b.Queue(`SELECT set_config('synchronous_commit', 'on', true)`)
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, int64(inboxLockKey))
	for _, r := range group {
		b.Queue(insertInboxSQL, r.row.jh, r.row.status, r.row.subject, r.row.doneNs, r.row.data)
	}
	b.Queue(`SELECT pg_notify($1, '')`, notifyChannel)
	br := w.db.pool.SendBatch(ctx, b)
	var first error
	keep := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	_, err := br.Exec()
	keep(err)
	_, err = br.Exec()
	keep(err)
	out := make([]inboxResult, len(group))
	txids := make([]int64, len(group))
	for i, r := range group {
		var id int64
		var data []byte
		var created bool
		err := br.QueryRow().Scan(&id, &data, &created, &txids[i])
		if err != nil {
			keep(err)
			continue
		}
		if created {
			e := r.row.stored
			e.ID = uint64(id)
			out[i] = inboxResult{e: e, created: true}
		} else {
			e, err := openInbox(w.db, id, r.row.jh, data)
			out[i] = inboxResult{e: e, err: err}
		}
	}
	_, err = br.Exec()
	keep(err)
	keep(br.Close())
	if first != nil {
		return nil, nil, first
	}
	return out, txids, nil
}

// close refuses new entries and waits for the running group to finish.
func (w *inboxWriter) close() {
	w.mu.Lock()
	w.closed = true
	for w.running {
		w.idle.Wait()
	}
	w.mu.Unlock()
}

// notifier calls a function, never blocking whoever signals it: signals
// coalesce while it runs.
type notifier struct {
	mu sync.Mutex
	fn func()
	ch chan struct{}
}

func newNotifier() *notifier { return &notifier{ch: make(chan struct{}, 1)} }

func (n *notifier) set(fn func()) {
	n.mu.Lock()
	n.fn = fn
	n.mu.Unlock()
}

func (n *notifier) signal() {
	select {
	case n.ch <- struct{}{}:
	default:
	}
}

func (n *notifier) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.ch:
		}
		n.mu.Lock()
		fn := n.fn
		n.mu.Unlock()
		if fn != nil {
			fn()
		}
	}
}

// listen LISTENs on the inbox channel over a connection of its own,
// signalling the notifier for each notification, and reconnects (after a
// pause growing to 5 s) when the connection fails. Every (re)connection
// signals once too: commits made while it was down were not heard.
func (db *DB) listen(ctx context.Context, cc *pgx.ConnConfig) {
	pause := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cc.Copy())
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+notifyChannel)
			if err == nil {
				pause = 100 * time.Millisecond
				db.listens.Add(1)
				if first {
					close(db.listening)
					first = false
				}
				db.applied.signal()
				for {
					if _, err = conn.WaitForNotification(ctx); err != nil {
						break
					}
					db.heard.Add(1)
					db.applied.signal()
				}
			}
			_ = conn.Close(context.WithoutCancel(ctx))
		}
		if ctx.Err() != nil {
			return
		}
		db.log.Warn("store: inbox listener disconnected; reconnecting", "error", redact(err.Error(), db.secret))
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}
