package receiver

import (
	"context"
	"sync"
	"time"

	"github.com/riscd/riscd/store"
)

// JournalInbox is an Inbox that can also encode entries ahead of their
// write and append many at once to a journal, as *store.DB does
// (store.DB.AppendInbox: one contiguous write and one fdatasync). The
// receiver then commits through its own group commit instead of calling
// PutInbox once per SET.
type JournalInbox interface {
	Inbox
	// PrepareInbox validates and encodes e outside any lock, for
	// AppendInbox. Errors match store.ErrInvalid.
	PrepareInbox(e store.InboxEntry) (store.PreparedInbox, error)
	// AppendInbox makes the entries durable, in order, and says for each
	// whether it is new; an error means none was acknowledged.
	AppendInbox(ctx context.Context, ps []store.PreparedInbox) ([]store.Appended, error)
}

// defaultMaxLinger bounds how long a busy committer lets its queue grow
// before committing it, and lingerMinBatch is how many SETs the last commit
// must have held for the committer to count as busy (see committer).
const (
	defaultMaxLinger = time.Millisecond
	lingerMinBatch   = 16
)

// committer is a leader/follower group commit over the store's inbox
// journal (store.DB.AppendInbox). The first SET to arrive while no commit
// is running commits at once, alone: an idle receiver answers after one
// write and one fdatasync. SETs that arrive during a commit queue up; when
// it ends, the first of them becomes the leader and commits the whole
// queue in one append. When the commit just made held at least
// lingerMinBatch SETs (the receiver is saturated), the new leader first
// lingers as long as that commit took, at most maxLinger, so that more SETs
// join: fewer, larger appends leave more CPU to verify SETs. A receiver
// below saturation never lingers, so its SETs wait for no more than the
// commit in progress and their own. Each request encodes its entry
// (store.DB.PrepareInbox) before it queues, in parallel with the others, so
// the leader only dedupes and writes.
type committer struct {
	db        JournalInbox
	maxLinger time.Duration         // 0: no linger
	sleep     func(d time.Duration) // time.Sleep when nil; tests record instead

	mu      sync.Mutex
	pending []*commitReq  // guarded by mu
	running bool          // a leader is committing; guarded by mu
	last    time.Duration // the last commit's duration; guarded by mu
	lastN   int           // how many SETs it held; guarded by mu
}

// commitReq is one SET waiting for its commit.
type commitReq struct {
	p       store.PreparedInbox
	out     store.InboxEntry
	created bool
	err     error
	// wake receives once: false when out, created and err are set, true
	// when this request must commit the queue.
	wake chan bool
}

// newCommitReq returns a request for p, not yet woken.
func newCommitReq(p store.PreparedInbox) *commitReq {
	return &commitReq{p: p, wake: make(chan bool, 1)}
}

// put commits e with whatever else is queued, with PutInbox's contract:
// the stored entry and whether it is new, once it is durable; an error when
// nothing of it was committed.
func (c *committer) put(ctx context.Context, e store.InboxEntry) (store.InboxEntry, bool, error) {
	p, err := c.db.PrepareInbox(e)
	if err != nil {
		return store.InboxEntry{}, false, err
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
	ps := make([]store.PreparedInbox, len(batch))
	for i, r := range batch {
		ps[i] = r.p
	}
	res, err := c.db.AppendInbox(ctx, ps)
	for i, r := range batch {
		if err != nil {
			r.out, r.created, r.err = store.InboxEntry{}, false, err
		} else {
			r.out, r.created = res[i].Entry, res[i].Created
		}
		r.wake <- false
	}
}
