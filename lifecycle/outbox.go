package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riscd/riscd/store"
)

// outboxPage is how many jobs one store read returns.
const outboxPage = store.MaxLimit

// queued is one pending job as the worker tracks it: the store keeps the
// rest, read again before each attempt.
type queued struct {
	id   uint64
	next time.Time
}

// outcome is what one attempt at a job came to.
type outcome struct {
	key   string
	id    uint64
	final bool      // done or failed: the job leaves its queue
	next  time.Time // retry: not before this
	abort bool      // ctx ended during the attempt: nothing recorded
}

// scheduler is RunOutbox's state, owned by its goroutine.
type scheduler struct {
	queues   map[string][]queued // key -> its pending jobs, in ID order
	inflight map[string]bool
	lastID   uint64 // highest job ID read
}

// RunOutbox works through the outbox until ctx is done, starting with every
// job pending in the store (so a new Lifecycle over the same store resumes
// what an earlier one left). Jobs of one key run one at a time in ID order;
// up to Config.Workers keys proceed at once. Store errors are logged and
// retried at the next poll, never fatal. When ctx is done it waits for the
// attempts in flight (they see ctx cancelled and are not counted) and
// returns nil. ErrRunning if another RunOutbox of this Lifecycle runs.
func (l *Lifecycle) RunOutbox(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer l.running.Store(false)
	s := &scheduler{inflight: map[string]bool{}}
	results := make(chan outcome, l.cfg.Workers)
	running := 0
	defer func() {
		for ; running > 0; running-- {
			<-results
		}
	}()
	loaded := l.rescan(ctx, s)
	lastRescan := l.now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		now := l.now()
		wait := l.cfg.PollInterval
		if !loaded {
			wait = min(wait, time.Second)
		}
		for key, q := range s.queues {
			if running == l.cfg.Workers {
				break // a result wakes the loop
			}
			if s.inflight[key] {
				continue
			}
			if d := q[0].next.Sub(now); d > 0 {
				wait = min(wait, d)
				continue
			}
			s.inflight[key] = true
			running++
			go func(key string, id uint64) { results <- l.attempt(ctx, key, id) }(key, q[0].id)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case o := <-results:
			running--
			s.finish(o)
			continue
		case <-l.notify:
		case <-timer.C:
		}
		if l.rescanR.Swap(false) || !loaded || l.now().Sub(lastRescan) >= l.cfg.RescanInterval {
			loaded = l.rescan(ctx, s)
			lastRescan = l.now()
		} else {
			l.readNew(ctx, s)
		}
	}
}

// finish applies an attempt's outcome.
func (s *scheduler) finish(o outcome) {
	delete(s.inflight, o.key)
	q := s.queues[o.key]
	i := slices.IndexFunc(q, func(j queued) bool { return j.id == o.id })
	switch {
	case i < 0, o.abort:
	case o.final:
		s.queues[o.key] = slices.Delete(q, i, i+1)
	default:
		q[i].next = o.next
	}
	if len(s.queues[o.key]) == 0 {
		delete(s.queues, o.key)
	}
}

// rescan rebuilds the queues from every pending job in the store. A key in
// flight keeps its mark, so its head is not started twice; the attempt's
// outcome then applies to the fresh queue. It reports whether it could read
// the store.
func (l *Lifecycle) rescan(ctx context.Context, s *scheduler) bool {
	fresh := &scheduler{queues: map[string][]queued{}}
	if err := l.read(ctx, fresh, 0); err != nil {
		l.log.ErrorContext(ctx, "outbox: reading pending jobs failed", "err", err)
		return false
	}
	s.queues, s.lastID = fresh.queues, max(s.lastID, fresh.lastID)
	return true
}

// readNew adds the jobs queued since the last read.
func (l *Lifecycle) readNew(ctx context.Context, s *scheduler) {
	if err := l.read(ctx, s, s.lastID); err != nil {
		l.log.ErrorContext(ctx, "outbox: reading new jobs failed", "err", err)
	}
}

// read appends the pending jobs with IDs above after to s's queues.
func (l *Lifecycle) read(ctx context.Context, s *scheduler, after uint64) error {
	for {
		var jobs []store.OutboxJob
		err := l.cfg.Store.View(ctx, func(tx *store.Tx) error {
			var err error
			jobs, err = tx.PendingOutboxAfter(after, outboxPage)
			return err
		})
		if err != nil {
			return fmt.Errorf("lifecycle: outbox: %w", err)
		}
		for _, j := range jobs {
			s.queues[j.Key] = append(s.queues[j.Key], queued{id: j.ID, next: j.NextAttemptAt})
			after = j.ID
		}
		s.lastID = max(s.lastID, after)
		if len(jobs) < outboxPage {
			return nil
		}
	}
}
