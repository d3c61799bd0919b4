package boltdb

import (
	"context"
	"sync"
	"time"

	"github.com/riscd/riscd"
)

// InboxWriter commits received entries for a receiver that acknowledges
// each one only once it is durable. Its PutInbox has DB.PutInbox's
// contract, but concurrent calls share one write and one fdatasync of the
// store's inbox journal (a group commit, see committer) instead of one
// bbolt commit each; the entries reach the inbox, where the DB's reads see
// them, shortly after (FlushInbox waits for that, OnInboxApplied is told).
type InboxWriter struct {
	c *committer
}

// Inbox is riscd.Store's Inbox: the InboxWriter.
func (db *DB) Inbox() riscd.InboxWriter { return db.InboxWriter() }

// InboxWriter returns the store's one InboxWriter: every caller shares its
// group commit.
func (db *DB) InboxWriter() *InboxWriter {
	db.writerOnce.Do(func() {
		db.writer = &InboxWriter{c: &committer{db: db, maxLinger: defaultMaxLinger}}
	})
	return db.writer
}

// PutInbox commits e durably under its unique (Iss, JTI) before it
// returns, sharing the commit with concurrent calls. It returns the stored
// entry and true for a new one, the existing entry and false for a
// duplicate (stored or still journaled), or an error when nothing was
// committed. A new entry's ID is 0: IDs are given when the entry reaches
// the inbox. Errors: ErrInvalid for an entry PrepareInbox refuses, and
// AppendInbox's.
func (w *InboxWriter) PutInbox(ctx context.Context, e InboxEntry) (InboxEntry, bool, error) {
	return w.c.put(ctx, e)
}

// defaultMaxLinger bounds how long a busy committer lets its queue grow
// before committing it, and lingerMinBatch is how many SETs the last commit
// must have held for the committer to count as busy (see committer).
const (
	defaultMaxLinger = time.Millisecond
	lingerMinBatch   = 16
)

// committer is a leader/follower group commit over the store's inbox
// journal (AppendInbox). The first SET to arrive while no commit
// is running commits at once, alone: an idle receiver answers after one
// write and one fdatasync. SETs that arrive during a commit queue up; when
// it ends, the first of them becomes the leader and commits the whole
// queue in one append. When the commit just made held at least
// lingerMinBatch SETs (the receiver is saturated), the new leader first
// lingers as long as that commit took, at most maxLinger, so that more SETs
// join: fewer, larger appends leave more CPU to verify SETs. A receiver
// below saturation never lingers, so its SETs wait for no more than the
// commit in progress and their own. Each request encodes its entry
// (PrepareInbox) before it queues, in parallel with the others, so
// the leader only dedupes and writes.
type committer struct {
	db        *DB
	appendFn  func(ctx context.Context, ps []PreparedInbox) ([]Appended, error) // db.AppendInbox when nil; tests gate it
	maxLinger time.Duration                                                     // 0: no linger
	sleep     func(d time.Duration)                                             // time.Sleep when nil; tests record instead

	mu      sync.Mutex
	pending []*commitReq  // guarded by mu
	running bool          // a leader is committing; guarded by mu
	last    time.Duration // the last commit's duration; guarded by mu
	lastN   int           // how many SETs it held; guarded by mu
}

// commitReq is one SET waiting for its commit.
type commitReq struct {
	p       PreparedInbox
	out     InboxEntry
	created bool
	err     error
	// wake receives once: false when out, created and err are set, true
	// when this request must commit the queue.
	wake chan bool
}

// newCommitReq returns a request for p, not yet woken.
func newCommitReq(p PreparedInbox) *commitReq {
	return &commitReq{p: p, wake: make(chan bool, 1)}
}

// put commits e with whatever else is queued, with PutInbox's contract:
// the stored entry and whether it is new, once it is durable; an error when
// nothing of it was committed.
func (c *committer) put(ctx context.Context, e InboxEntry) (InboxEntry, bool, error) {
	p, err := c.db.PrepareInbox(e)
	if err != nil {
		return InboxEntry{}, false, err
	}
	req := newCommitReq(p)
	c.mu.Lock()
	c.pending = append(c.pending, req)
	leader := !c.running
	c.running = true
	c.mu.Unlock()
	if !leader {
		if lead := <-req.wake; !lead {
			return req.out, req.created, req.err
		}
		c.mu.Lock()
		linger := min(c.last, c.maxLinger)
		if c.lastN < lingerMinBatch {
			linger = 0
		}
		c.mu.Unlock()
		if linger > 0 {
			if c.sleep != nil {
				c.sleep(linger)
			} else {
				time.Sleep(linger)
			}
		}
	}
	c.mu.Lock()
	batch := c.pending
	c.pending = nil
	c.mu.Unlock()

	start := time.Now()
	c.commit(ctx, batch)
	took := time.Since(start)

	c.mu.Lock()
	c.last = took
	c.lastN = len(batch)
	if len(c.pending) > 0 {
		c.pending[0].wake <- true // hand the next commit over
	} else {
		c.running = false
	}
	c.mu.Unlock()
	return req.out, req.created, req.err
}

// commit appends batch to the journal in one write and releases its
// requests.
func (c *committer) commit(ctx context.Context, batch []*commitReq) {
	ps := make([]PreparedInbox, len(batch))
	for i, r := range batch {
		ps[i] = r.p
	}
	appendInbox := c.db.AppendInbox
	if c.appendFn != nil {
		appendInbox = c.appendFn
	}
	res, err := appendInbox(ctx, ps)
	for i, r := range batch {
		if err != nil {
			r.out, r.created, r.err = InboxEntry{}, false, err
		} else {
			r.out, r.created = res[i].Entry, res[i].Created
		}
		r.wake <- false
	}
}
