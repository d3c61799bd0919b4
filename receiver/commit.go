package receiver

import (
	"context"
	"sync"
	"time"

	"github.com/riscd/riscd/store"
)

// TxInbox is an Inbox that can also encode entries ahead of their
// transaction and run several writes in one transaction, as *store.DB does.
// The receiver then commits through its own group commit instead of calling
// PutInbox once per SET.
type TxInbox interface {
	Inbox
	// PrepareInbox validates and encodes e outside any transaction, for
	// store.Tx.PutPreparedInbox. Errors match store.ErrInvalid.
	PrepareInbox(e store.InboxEntry) (store.PreparedInbox, error)
	// Update runs fn in one read-write transaction, committed (durably)
	// if fn returns nil and rolled back otherwise.
	Update(ctx context.Context, fn func(*store.Tx) error) error
}

// defaultMaxLinger bounds how long a busy committer lets its queue grow
// before committing it (see committer).
const defaultMaxLinger = time.Millisecond

// committer is a leader/follower group commit. The first SET to arrive
// while no commit is running commits at once, alone: an idle receiver
// answers after one fsync. SETs that arrive during a commit queue up; when
// it ends, the first of them becomes the leader, lingers as long as the
// commit just made took (at most maxLinger) so that more SETs join, and
// commits the whole queue in one transaction. Under load a bbolt commit
// costs far more CPU than the SETs in it (the pages of four trees written
// and synced twice, whatever their number), so fewer, larger commits leave
// more CPU to verify SETs: that is what the linger buys, for at most
// maxLinger of latency when the receiver is busy and none when it is idle.
// Each request encodes its entry (store.DB.PrepareInbox) before it queues,
// in parallel with the others, so the transaction only indexes and writes.
type committer struct {
	db        TxInbox
	maxLinger time.Duration         // 0: no linger
	sleep     func(d time.Duration) // time.Sleep when nil; tests record instead

	mu      sync.Mutex
	pending []*commitReq  // guarded by mu
	running bool          // a leader is committing; guarded by mu
	last    time.Duration // the last commit's duration; guarded by mu
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
	if len(c.pending) > 0 {
		c.pending[0].wake <- true // hand the next commit over
	} else {
		c.running = false
	}
	c.mu.Unlock()
	return req.out, req.created, req.err
}

// commit writes batch in one transaction and releases its requests. When
// the transaction fails, each entry is retried alone, so one bad entry
// cannot fail the others.
func (c *committer) commit(ctx context.Context, batch []*commitReq) {
	err := c.db.Update(ctx, func(tx *store.Tx) error {
		for _, r := range batch {
			var err error
			if r.out, r.created, err = tx.PutPreparedInbox(r.p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			c.commit(ctx, []*commitReq{r})
		}
		return
	}
	for _, r := range batch {
		if err != nil {
			r.out, r.created, r.err = store.InboxEntry{}, false, err
		}
		r.wake <- false
	}
}
