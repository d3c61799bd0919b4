package lifecycle

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/riscd/riscd/store"
)

// Op names who asks for an operator action and why, for the audit log and
// the grants' ChangedBy and Reason.
type Op struct {
	Actor  string // "operator", "user", ...; default "operator"
	Reason string // free text for the audit entry; default the operation's name
}

// DiscardGrant is an operator's (or a policy's) delete of one grant: in one
// transaction the grant is revoked and its tokens discarded, a call to
// Google's revoke endpoint is queued in the outbox (Google still honours the
// token), the change is audited, and a webhook is queued. Calling it again
// changes nothing and queues nothing. It is not subject to DryRun. Errors:
// store.ErrNotFound (wrapped) for an unknown grant, or a store failure.
func (l *Lifecycle) DiscardGrant(ctx context.Context, grantID string, op Op) error {
	return l.operate(ctx, op, "discard-grant", []string{ActionRevokeUpstream, ActionRevokeGrants},
		func(tx *store.Tx) (*target, error) {
			g, err := tx.Grant(grantID)
			if err != nil {
				return nil, err
			}
			t, _, err := loadTarget(tx, g.Sub, map[string]bool{g.ID: true})
			return t, err
		})
}

// ReleaseHolds is an operator's release of a subject's holds: held grants
// become active again (revoked ones stay revoked), the account's hold is
// cleared and sign-in is allowed again, audited, with a webhook. Calling it again changes nothing and
// queues nothing. Errors: store.ErrNotFound (wrapped) when riscd has never
// seen the subject, or a store failure.
func (l *Lifecycle) ReleaseHolds(ctx context.Context, sub string, op Op) error {
	return l.operate(ctx, op, "release-holds", []string{ActionEnableSignin, ActionReleaseHolds},
		func(tx *store.Tx) (*target, error) {
			t, known, err := loadTarget(tx, sub, nil)
			if err == nil && !known {
				err = fmt.Errorf("subject: %w", store.ErrNotFound)
			}
			return t, err
		})
}

// operate runs an operator's actions (in vocabulary order, without notify)
// on the target load finds, then queues the webhook. The audit entries and
// the webhook are written only when something changed.
func (l *Lifecycle) operate(ctx context.Context, op Op, name string, actions []string, load func(*store.Tx) (*target, error)) error {
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
func (l *Lifecycle) perform(ctx context.Context, newOC func(now time.Time) *occurrence, load func(*store.Tx) (*target, error), act func(*run) error) error {
	queued := 0
	err := l.cfg.Store.Update(ctx, func(tx *store.Tx) error {
		queued = 0
		t, err := load(tx)
		if err != nil {
			return err
		}
		r := l.newRun(tx, newOC(l.now()), t)
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
			if _, err := tx.AppendAudit(e); err != nil {
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
