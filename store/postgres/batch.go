package postgres

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/riscd/riscd"
)

// maxBatch bounds how many Batch calls one transaction takes.
const maxBatch = 64

// batchTimeout bounds one batch transaction's begin and commit: once a
// batch has started, its callers wait for its outcome.
const batchTimeout = 30 * time.Second

// batcher runs concurrent Batch calls together: a caller queues its
// function and, if no batch is running, starts one; a running batch, once
// committed, takes everything queued meanwhile. Each batch is one
// SERIALIZABLE transaction running the functions one after the other.
//
// Why: the dispatcher's deliveries (the lifecycle's handler, the inbox's
// Done) each read a few rows and write them back. B-tree predicate locks
// are taken per index page, so concurrent transactions about different
// subjects whose keys share a page (neighbouring subjects, the inbox's
// consecutive IDs, a table still small) read what the other writes and
// fail to serialize: with eight workers most transactions ran twice or
// more. One batch at a time has no such partner in this process, and its
// callers share one commit and one WAL flush.
type batcher struct {
	db      *DB
	mu      sync.Mutex
	queue   []*batchReq
	running bool
}

type batchReq struct {
	ctx  context.Context
	pre  riscd.Prefetch
	fn   func(*Tx) error
	done chan error
}

// errAlone tells a Batch caller that its function failed in a batch: it
// runs it on its own.
var errAlone = errors.New("store: run alone")

// Batch runs fn in a SERIALIZABLE transaction shared with other
// concurrent Batch calls of this process (see batcher). As the contract
// allows, fn may run more than once: when the transaction fails to
// serialize, and when another caller's function fails or panics (that
// caller then runs its function in a transaction of its own, as Update,
// and the others run again together).
func (db *DB) Batch(ctx context.Context, fn func(riscd.Tx) error) error {
	return db.batchWith(ctx, riscd.Prefetch{}, fn)
}

func (db *DB) batchWith(ctx context.Context, pre riscd.Prefetch, fn func(riscd.Tx) error) error {
	if err := db.usable(ctx); err != nil {
		return err
	}
	req := &batchReq{ctx: ctx, pre: pre, fn: func(t *Tx) error { return fn(t) }, done: make(chan error, 1)}
	b := &db.batch
	b.mu.Lock()
	b.queue = append(b.queue, req)
	start := !b.running
	b.running = true
	b.mu.Unlock()
	if start {
		go b.loop()
	}
	if err := <-req.done; err != errAlone {
		return err
	}
	return db.updateTx(ctx, req.fn)
}

// loop runs batches until the queue is empty.
func (b *batcher) loop() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxBatch)
		group := b.queue[:n:n]
		b.queue = b.queue[n:]
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.run(group)
	}
}

// run commits one batch, retrying it when it fails to serialize. A
// function that fails or panics takes its caller out of the batch (the
// caller runs it on its own), and the batch runs again without it.
func (b *batcher) run(group []*batchReq) {
	db := b.db
	for attempt := 1; ; attempt++ {
		live := group[:0:0]
		for _, r := range group {
			if err := r.ctx.Err(); err != nil {
				r.done <- err
				continue
			}
			live = append(live, r)
		}
		group = live
		if len(group) == 0 {
			return
		}
		var failed *batchReq
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		var pre riscd.Prefetch
		for _, r := range group {
			pre.Marks = append(pre.Marks, r.pre.Marks...)
			pre.Subs = append(pre.Subs, r.pre.Subs...)
			pre.Inbox = append(pre.Inbox, r.pre.Inbox...)
			pre.Audit += r.pre.Audit
		}
		err := db.run(ctx, serializable, false, func(t *Tx) error {
			if err := t.prefetch(ctx, pre); err != nil {
				return err
			}
			for _, r := range group {
				t.pipe.owner = r
				if err := call(r, t); err != nil {
					failed = r
					if by, ok := t.pipe.by.(*batchReq); ok {
						failed = by // a write it deferred failed (see pipe)
					}
					return err
				}
			}
			t.pipe.owner = nil
			if err := t.pipe.flush(ctx); err != nil {
				if by, ok := t.pipe.by.(*batchReq); ok {
					failed = by
				}
				return err
			}
			return nil
		})
		cancel()
		switch {
		case err == nil:
			for _, r := range group {
				r.done <- nil
			}
			return
		case retryable(err) && attempt < maxAttempts:
			db.retries.Add(1)
			time.Sleep(time.Duration(rand.Int64N(int64(min(time.Millisecond<<attempt, 100*time.Millisecond)))))
			continue
		case failed != nil && !retryable(err):
			failed.done <- errAlone
			group = slices.DeleteFunc(group, func(r *batchReq) bool { return r == failed })
			attempt = 0
			continue
		}
		for _, r := range group {
			r.done <- err
		}
		return
	}
}

// call runs r's function on t, turning a panic into an error (the caller
// runs the function again on its own, where it panics in its own
// goroutine).
func call(r *batchReq, t *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errAlone
		}
	}()
	return r.fn(t)
}
