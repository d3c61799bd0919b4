package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/workqueue"
)

// outboxPage is how many jobs one store read returns.
const outboxPage = riscd.MaxLimit

// attemptState is what the work queue keeps of a job between the steps of
// one attempt: the store keeps the rest, read again before each attempt.
type attemptState struct {
	job     riscd.OutboxJob // as read for the attempt
	res     result          // the call's result
	gone    bool            // the job is no longer pending: nothing to do or record
	readErr bool            // the job could not be read: nothing was called
}

// outbox is the Lifecycle's outbox as a workqueue.Source.
type outbox struct{ l *Lifecycle }

var (
	_ workqueue.Source[attemptState]  = outbox{}
	_ workqueue.Claimer[attemptState] = outbox{}
)

// outboxLock names the store lock under which a job is worked.
func outboxLock(id uint64) string { return "outbox-job:" + strconv.FormatUint(id, 10) }

// sharedOutbox is a Store whose outbox other processes work too (replicas
// over one PostgreSQL database) and which knows the jobs queued through it:
// see Claim.
type sharedOutbox interface {
	// OutboxEnqueuedHere reports whether job id was queued through this
	// store handle, this process, and is not known finished.
	OutboxEnqueuedHere(id uint64) bool
	// OutboxJob reads job id (in one statement).
	OutboxJob(ctx context.Context, id uint64) (riscd.OutboxJob, error)
}

// outboxClaimGrace is how long after a job is due (queued, or its retry
// time) a replica leaves a job another replica queued to that one, on a
// shared store: the replica that queued a job is told at once and works it
// within milliseconds, another reads it only at its polls. A replica that
// died meanwhile delays its jobs this much more.
const outboxClaimGrace = 2 * time.Second

// Claim makes an attempt at a job exclusive among the replicas sharing the
// store: it takes the job's lock, then reads the job again. A job another
// replica finished or failed meanwhile is ErrGone; one another replica
// attempted takes its attempts and next attempt from the store (the
// webhook-id, part of the stored payload, stays the same whoever retries);
// one whose key has an earlier pending job waits for it (ErrBehind), so a
// subject's jobs keep their order across replicas. The lock is released
// once the attempt is recorded, or when the replica stops or dies.
//
// On a shared store (sharedOutbox), a job another replica queued is left
// to it until outboxClaimGrace after the job is due (ErrBusy: tried again
// at the next poll); then its status is read first, in one statement, so
// that a job the other replica finished costs no lock, and one it attempted
// meanwhile waits for its next retry without one. Only a job still pending
// and due is locked and read again as above.
func (o outbox) Claim(ctx context.Context, it *workqueue.Item[attemptState]) (func(), error) {
	if s, ok := o.l.cfg.Store.(sharedOutbox); ok && !s.OutboxEnqueuedHere(it.ID) {
		now := o.l.now()
		due := it.Value.job.CreatedAt
		if it.NextAttempt.After(due) {
			due = it.NextAttempt
		}
		if now.Before(due.Add(outboxClaimGrace)) {
			return nil, fmt.Errorf("lifecycle: outbox: job %d is left to the replica that queued it: %w", it.ID, workqueue.ErrBusy)
		}
		job, err := s.OutboxJob(ctx, it.ID)
		switch {
		case errors.Is(err, riscd.ErrNotFound):
			return nil, fmt.Errorf("lifecycle: outbox: job %d pruned: %w", it.ID, workqueue.ErrGone)
		case err != nil:
			return nil, fmt.Errorf("lifecycle: outbox: read job %d: %w", it.ID, err)
		case job.Status != riscd.OutboxPending:
			return nil, fmt.Errorf("lifecycle: outbox: job %d is %s: %w", it.ID, job.Status, workqueue.ErrGone)
		case job.NextAttemptAt.After(now):
			// Attempted elsewhere meanwhile: nothing is held, and the
			// queue waits for the retry time.
			it.Attempts, it.NextAttempt = job.Attempts, job.NextAttemptAt
			return func() {}, nil
		}
	}
	release, ok, err := o.l.cfg.Store.TryLock(ctx, outboxLock(it.ID))
	if err != nil {
		return nil, fmt.Errorf("lifecycle: outbox: lock job %d: %w", it.ID, err)
	}
	if !ok {
		return nil, workqueue.ErrBusy
	}
	var job riscd.OutboxJob
	err = o.l.cfg.Store.View(ctx, func(tx riscd.ReadTx) error {
		var err error
		job, err = tx.OutboxJob(ctx, it.ID)
		switch {
		case errors.Is(err, riscd.ErrNotFound):
			return fmt.Errorf("lifecycle: outbox: job %d pruned: %w", it.ID, workqueue.ErrGone)
		case err != nil:
			return err
		case job.Status != riscd.OutboxPending:
			return fmt.Errorf("lifecycle: outbox: job %d is %s: %w", it.ID, job.Status, workqueue.ErrGone)
		case job.Key == "":
			return nil
		}
		return earlierPending(ctx, tx, job)
	})
	if err != nil {
		release()
		return nil, err
	}
	it.Attempts, it.NextAttempt = job.Attempts, job.NextAttemptAt
	return release, nil
}

// earlierPending is ErrBehind when a pending job of j's key comes before
// j. Pending jobs are few: the outbox holds only work not yet done.
func earlierPending(ctx context.Context, tx riscd.ReadTx, j riscd.OutboxJob) error {
	after := uint64(0)
	for {
		page, err := tx.PendingOutboxAfter(ctx, after, outboxPage)
		if err != nil {
			return err
		}
		for _, p := range page {
			if p.ID >= j.ID {
				return nil
			}
			if p.Key == j.Key {
				return fmt.Errorf("lifecycle: outbox: job %d waits for job %d: %w", j.ID, p.ID, workqueue.ErrBehind)
			}
			after = p.ID
		}
		if len(page) < outboxPage {
			return nil
		}
	}
}

// newOutboxQueue builds the work queue RunOutbox runs.
func newOutboxQueue(l *Lifecycle) (*workqueue.Queue[attemptState], error) {
	return workqueue.New(workqueue.Config[attemptState]{
		Source:         outbox{l},
		Name:           "outbox",
		BackoffBase:    l.cfg.BackoffBase,
		BackoffMax:     l.cfg.BackoffMax,
		Workers:        l.cfg.Workers,
		PollInterval:   l.cfg.PollInterval,
		RescanInterval: l.cfg.RescanInterval,
		PageSize:       outboxPage,
		LogAttrs: func(it *workqueue.Item[attemptState]) []any {
			return []any{"job", it.ID, "kind", it.Value.job.Kind}
		},
		Now:    l.now,
		Logger: l.log,
	})
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
	return l.outbox.Run(ctx)
}

// Pending lists the pending jobs with IDs above after, keyed by their key.
func (o outbox) Pending(ctx context.Context, after uint64, limit int) ([]workqueue.Item[attemptState], error) {
	var jobs []riscd.OutboxJob
	err := o.l.cfg.Store.View(ctx, func(tx riscd.ReadTx) error {
		var err error
		jobs, err = tx.PendingOutboxAfter(ctx, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lifecycle: outbox: %w", err)
	}
	items := make([]workqueue.Item[attemptState], len(jobs))
	for i, j := range jobs {
		items[i] = workqueue.Item[attemptState]{
			ID: j.ID, Key: j.Key, Attempts: j.Attempts, NextAttempt: j.NextAttemptAt,
			Value: attemptState{job: riscd.OutboxJob{ID: j.ID, Kind: j.Kind, CreatedAt: j.CreatedAt}},
		}
	}
	return items, nil
}

// Handle reads the job and makes one call: to the revoke endpoint or the
// webhook. A job no longer pending is left alone.
func (o outbox) Handle(ctx context.Context, it *workqueue.Item[attemptState]) error {
	l := o.l
	st := &it.Value
	st.forget()
	job, err := l.readJob(ctx, it.ID)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, riscd.ErrNotFound):
		st.gone = true
		return nil
	case err != nil:
		l.log.ErrorContext(ctx, "outbox: reading a job failed", "job", it.ID, "err", err)
		st.readErr = true
		return fmt.Errorf("outbox: reading the job: %w", err)
	case job.Status != riscd.OutboxPending:
		st.gone = true
		return nil
	}
	st.job = job
	actx, cancel := context.WithTimeout(ctx, l.cfg.AttemptTimeout)
	defer cancel()
	switch job.Kind {
	case riscd.OutboxRevoke:
		st.res = l.revoke(actx, job)
	case riscd.OutboxWebhook:
		st.res = l.webhook(actx, job)
	default:
		st.res = result{permanent: true, err: "unknown job kind " + quote(string(job.Kind))}
	}
	switch {
	case st.res.ok:
		return nil
	case st.res.permanent:
		return workqueue.Permanent(errors.New(st.res.err))
	default:
		return errors.New(st.res.err)
	}
}

// readJob reads job id: in one statement on a store that offers it
// (sharedOutbox: on PostgreSQL no transaction of its own, one round trip
// instead of three), else in a View.
func (l *Lifecycle) readJob(ctx context.Context, id uint64) (riscd.OutboxJob, error) {
	if s, ok := l.cfg.Store.(sharedOutbox); ok {
		return s.OutboxJob(ctx, id)
	}
	var job riscd.OutboxJob
	err := l.cfg.Store.View(ctx, func(tx riscd.ReadTx) error {
		var err error
		job, err = tx.OutboxJob(ctx, id)
		return err
	})
	return job, err
}

// Done records the job done, with its audit entry.
func (o outbox) Done(ctx context.Context, it *workqueue.Item[attemptState]) error {
	if it.Value.gone {
		return nil
	}
	_, err := o.l.record(ctx, it.Value, workqueue.Failure{})
	if err == nil {
		it.Value.forget()
	}
	return err
}

// Failed records a failed attempt: the job is retried after the backoff,
// never past its deadline, and fails (audited) at the deadline or on an
// error no retry can fix.
func (o outbox) Failed(ctx context.Context, it *workqueue.Item[attemptState], f workqueue.Failure) (workqueue.Failure, error) {
	if it.Value.readErr {
		// Nothing was tried: look again at the next poll.
		f.Park, f.Next = false, o.l.now().Add(o.l.cfg.PollInterval)
		return f, nil
	}
	f, err := o.l.record(ctx, it.Value, f)
	it.Value.forget()
	return f, err
}

// forget drops what the attempt read (the job's token among it), keeping
// only what names the job in log lines and when it was queued (Claim);
// the next attempt reads it again.
func (st *attemptState) forget() {
	*st = attemptState{job: riscd.OutboxJob{ID: st.job.ID, Kind: st.job.Kind, CreatedAt: st.job.CreatedAt}}
}
