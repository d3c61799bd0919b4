package receiver

import (
	"context"
	"sync"

	"github.com/riscd/riscd/store"
)

// TxInbox is an Inbox that can also run several writes in one transaction,
// as *store.DB does. The receiver then commits through its own group commit
// instead of calling PutInbox once per SET.
type TxInbox interface {
	Inbox
	// Update runs fn in one read-write transaction, committed (durably)
	// if fn returns nil and rolled back otherwise.
	Update(ctx context.Context, fn func(*store.Tx) error) error
}

// committer is a leader/follower group commit. The first SET to arrive
// while no commit is running commits at once, alone; SETs that arrive
// during a commit queue up, and when it ends the first of them commits the
// whole queue in one transaction. So an idle receiver answers after one
// fsync, and a busy one shares each fsync among everything that arrived
// meanwhile, with no timer to wait for (bbolt's Batch waits up to its
// MaxBatchDelay, 10 ms by default, before committing).
type committer struct {
	db TxInbox

	mu      sync.Mutex
	pending []*commitReq // guarded by mu
	running bool         // a leader is committing; guarded by mu
}

// commitReq is one SET waiting for its commit.
type commitReq struct {
	e       store.InboxEntry
	out     store.InboxEntry
	created bool
	err     error
	done    chan struct{} // closed when out, created and err are set
	lead    chan struct{} // receives when this request must commit the queue
}

// put commits e with whatever else is queued, with PutInbox's contract:
// the stored entry and whether it is new, once it is durable; an error when
// nothing of it was committed.
func (c *committer) put(ctx context.Context, e store.InboxEntry) (store.InboxEntry, bool, error) {
	req := &commitReq{e: e, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	c.mu.Lock()
	c.pending = append(c.pending, req)
	leader := !c.running
	c.running = true
	c.mu.Unlock()
	if !leader {
		select {
		case <-req.done:
			return req.out, req.created, req.err
		case <-req.lead:
		}
	}
	c.mu.Lock()
	batch := c.pending
	c.pending = nil
	c.mu.Unlock()

	c.commit(ctx, batch)

	c.mu.Lock()
	if len(c.pending) > 0 {
		c.pending[0].lead <- struct{}{} // hand the next commit over
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
			if r.out, r.created, err = tx.PutInbox(r.e); err != nil {
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
		close(r.done)
	}
}
