package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riscd/riscd"
)

// Op names who asks for an operator action and why, for the audit log and
// the grants' ChangedBy and Reason.
type Op struct {
	Actor  string // "operator", "user", ...; default "operator"
	Reason string // free text for the audit entry; default the operation's name
}

// ReleaseHolds is an operator's release of a subject's holds: held grants
// become active again (revoked ones stay revoked), the account's hold is
// cleared and sign-in is allowed again, audited, with a webhook. Calling it again changes nothing and
// queues nothing. Errors: riscd.ErrNotFound (wrapped) when riscd has never
// seen the subject, or a store failure.
func (l *Lifecycle) ReleaseHolds(ctx context.Context, sub string, op Op) error {
	return l.operate(ctx, op, "release-holds", []string{ActionEnableSignin, ActionReleaseHolds},
		func(tx riscd.Tx) (*target, error) {
			t, known, err := loadTarget(ctx, tx, sub, nil)
			if err == nil && !known {
				err = fmt.Errorf("subject: %w", riscd.ErrNotFound)
			}
			return t, err
		})
}

// operate runs an operator's actions (in vocabulary order, without notify)
// on the target load finds, then queues the webhook. The audit entries and
// the webhook are written only when something changed.
func (l *Lifecycle) operate(ctx context.Context, op Op, name string, actions []string, load func(riscd.Tx) (*target, error)) error {
	if op.Actor == "" {
		op.Actor = "operator"
	}
	if op.Reason == "" {
		op.Reason = name
	}
	newOC := func(now time.Time) *occurrence {
		return &occurrence{
			name: "operator:" + name, reason: op.Reason, changedBy: op.Actor, actor: op.Actor, at: now.UTC(),
			detail:    "operator " + quote(op.Actor) + ": " + quote(op.Reason),
			webhookID: "lifecycle/operator/" + name + "/" + strconv.FormatInt(now.UnixNano(), 10),
		}
	}
	if err := l.perform(ctx, newOC, load, func(r *run) error { return r.apply(actions) }); err != nil {
		return fmt.Errorf("lifecycle: %s: %w", name, err)
	}
	return nil
}

// perform applies an occurrence that is not a security event (an
// operator's call, a refusal of the token endpoint) in one transaction: act
// runs on the target load finds, then the webhook is queued. The audit
// entries and the webhook are written only when something changed.
func (l *Lifecycle) perform(ctx context.Context, newOC func(now time.Time) *occurrence, load func(riscd.Tx) (*target, error), act func(*run) error) error {
	queued := 0
	err := l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		queued = 0
		t, err := load(tx)
		if err != nil {
			return err
		}
		r := l.newRun(ctx, tx, newOC(l.now()), t)
		if err := act(r); err != nil {
			return err
		}
		if !r.changedAnything() {
			return nil
		}
		outcome, _, err := r.do(ActionNotify)
		if err != nil {
			return err
		}
		r.audit(ActionNotify, outcome, "", nil)
		queued = r.queuedJobs
		for _, e := range r.entries {
			if _, err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if queued > 0 {
		l.NotifyOutbox()
	}
	return nil
}

// changedAnything reports whether the run changed a grant, the account, or
// queued a job.
func (r *run) changedAnything() bool { return len(r.changed) > 0 || r.acctDirty || r.queuedJobs > 0 }

// auditRetryOutbox is the audit action of RetryOutboxJob.
const auditRetryOutbox = "retry_outbox"

// JobStateError is RetryOutboxJob's refusal of a job that has not failed.
type JobStateError struct {
	ID     uint64
	Status riscd.OutboxStatus
}

func (e *JobStateError) Error() string {
	return fmt.Sprintf("lifecycle: outbox job %d is %s, not failed or pending", e.ID, e.Status)
}

// JobStatus is the job's status: done.
func (e *JobStateError) JobStatus() string { return string(e.Status) }

// RetryOutboxJob is an operator's retry of an outbox job. One that failed
// for good returns, in one transaction, to pending with no attempts, due
// now, with as long again to its deadline as it had when queued. One still
// pending (waiting out its backoff after failed attempts) is made due now,
// keeping its attempts and deadline: "retry now", once the app is fixed,
// without waiting for the next retry. Either retry is audited (action
// retry_outbox, naming the job's event, subject and grant). The outbox
// worker then reads it at once (RescanOutbox). A retried failed job runs
// after the jobs of its key already done: a webhook may reach the app after
// later ones. Errors: riscd.ErrNotFound (wrapped) for an unknown job, a
// *JobStateError when it is done, or a store failure.
func (l *Lifecycle) RetryOutboxJob(ctx context.Context, id uint64, op Op) (riscd.OutboxJob, error) {
	if op.Actor == "" {
		op.Actor = "operator"
	}
	var out riscd.OutboxJob
	err := l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		j, err := tx.OutboxJob(ctx, id)
		if err != nil {
			return err
		}
		now := l.now()
		lastErr := ""
		if j.LastError != "" {
			lastErr = "last error: " + j.LastError
		}
		what := fmt.Sprintf("outbox job %d (%s)", j.ID, j.Kind)
		switch j.Status {
		case riscd.OutboxFailed:
			if !j.Deadline.IsZero() {
				j.Deadline = now.Add(max(j.Deadline.Sub(j.CreatedAt), 0))
			}
			j.Status, j.Attempts, j.LastError, j.NextAttemptAt, j.DoneAt = riscd.OutboxPending, 0, "", time.Time{}, time.Time{}
		case riscd.OutboxPending:
			j.NextAttemptAt = now
			what = fmt.Sprintf("retry now: %s after %d attempts", what, j.Attempts)
		default:
			return &JobStateError{ID: id, Status: j.Status}
		}
		if err := tx.PutOutboxJob(ctx, j); err != nil {
			return err
		}
		var p jobPayload
		_ = json.Unmarshal(j.Payload, &p) // best effort, as for the job's own audit entry
		e := jobAudit(j, p, now, "pending")
		e.Action, e.Actor = auditRetryOutbox, op.Actor
		e.Detail = joinDetail(joinDetail(op.Reason, what), joinDetail(webhookIDDetail(p), lastErr))
		if _, err := tx.AppendAudit(ctx, e); err != nil {
			return err
		}
		out = j
		return nil
	})
	if err != nil {
		var se *JobStateError
		if errors.As(err, &se) {
			return riscd.OutboxJob{}, se
		}
		return riscd.OutboxJob{}, fmt.Errorf("lifecycle: retry outbox job %d: %w", id, err)
	}
	l.RescanOutbox()
	return out, nil
}

// webhookIDDetail names a webhook job's webhook-id, "" for other jobs.
func webhookIDDetail(p jobPayload) string {
	if p.WebhookID == "" {
		return ""
	}
	return "webhook-id " + p.WebhookID
}
