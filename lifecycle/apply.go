package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/riscd/riscd"
)

// occurrence is what acts on a subject: a security event, or an operator's
// call through the Lifecycle's methods.
type occurrence struct {
	transmitter string
	eventType   string    // the event-type URI; "" for an operator's call
	name        string    // the webhook's "type": short name, unknown URI, or operation
	jti         string    // the event's jti; "" for an operator's call
	reason      string    // Grant.Reason for the status changes it makes
	changedBy   string    // Grant.ChangedBy: the event's jti, or the operator
	actor       string    // AuditEntry.Actor: "event" or "operator"
	at          time.Time // when it happened (never after now)
	cutoff      time.Time // sessions created before this are ended; see sessionCutoff
	detail      string    // audit detail of the record entry (reason, state, ...)
	webhookID   string    // seed of the webhook-id; see webhookID
	whReason    string    // WebhookPayload.Reason: the account-disabled reason
}

// sessionCutoff is the moment before which sessions count as older than the
// occurrence. SET times are whole seconds, so an event stamped 12:00:00 may
// have happened at any moment of that second: sessions created during it
// count as older (ending one session too many is safe; one too few is not),
// but never beyond the moment the occurrence was handled.
func (oc *occurrence) sessionCutoff() time.Time {
	if oc.cutoff.IsZero() {
		return oc.at
	}
	return oc.cutoff
}

// target is one subject an occurrence acts on, loaded in the transaction.
type target struct {
	sub          string
	account      riscd.Account
	accountFound bool
	grants       []riscd.Grant   // every grant of the subject, oldest first
	scope        map[string]bool // IDs of the grants the occurrence is about; nil means all
	detail       string          // how the target was found, for the record entry
	// unmatched: another transmitter's subject that names no account of
	// riscd's; sub is "", only ActionNotify acts, and its webhook carries
	// subject, the subject as received.
	unmatched  bool
	subject    json.RawMessage
	subjectKey string // events.SubjectKey of the subject, orders its webhooks
}

// run is one occurrence applied to one target inside one transaction.
type run struct {
	l          *Lifecycle
	ctx        context.Context // the transaction's context, passed to tx's methods
	tx         riscd.Tx
	oc         *occurrence
	t          *target
	now        time.Time
	dirty      []bool // per grant: to be written
	changed    []string
	acctDirty  bool
	entries    []riscd.AuditEntry
	queuedJobs int
}

func (l *Lifecycle) newRun(ctx context.Context, tx riscd.Tx, oc *occurrence, t *target) *run {
	return &run{l: l, ctx: ctx, tx: tx, oc: oc, t: t, now: l.now(), dirty: make([]bool, len(t.grants))}
}

// audit adds an entry to the run's list (written by the caller).
func (r *run) audit(action, outcome, detail string, grantIDs []string) {
	r.entries = append(r.entries, riscd.AuditEntry{
		At: r.now, Transmitter: r.oc.transmitter, EventJTI: r.oc.jti, EventType: r.oc.eventType,
		Sub: r.t.sub, GrantIDs: grantIDs, Action: action, Outcome: outcome, Detail: detail, Actor: r.oc.actor,
	})
}

func (r *run) inScope(i int) bool { return r.t.scope == nil || r.t.scope[r.t.grants[i].ID] }

// touch marks grant i to be written and its ID as changed.
func (r *run) touch(i int) {
	r.dirty[i] = true
	if id := r.t.grants[i].ID; !slices.Contains(r.changed, id) {
		r.changed = append(r.changed, id)
	}
}

// setStatus changes grant i's status with the occurrence's reason.
func (r *run) setStatus(i int, s riscd.GrantStatus) {
	g := &r.t.grants[i]
	g.Status, g.Reason, g.ChangedBy = s, r.oc.reason, r.oc.changedBy
	r.touch(i)
}

// discardTokens forgets grant i's tokens; it reports whether it held any.
func (r *run) discardTokens(i int) bool {
	g := &r.t.grants[i]
	had := g.RefreshToken != "" || g.AccessToken != ""
	g.RefreshToken, g.AccessToken, g.Expiry = "", "", time.Time{}
	return had
}

// apply runs actions (already in vocabulary order) on the target and writes
// the grants and account they changed. The audit entries to write collect
// in r.entries: the record entry first, then one per action.
func (r *run) apply(actions []string) error {
	outcome := "recorded"
	if r.t.unmatched {
		outcome = "recorded: the subject names no account of riscd's"
	}
	r.audit(ActionRecord, outcome, joinDetail(r.oc.detail, r.t.detail), nil)
	for _, a := range actions {
		if a == ActionRecord {
			continue
		}
		if r.t.unmatched && a != ActionNotify {
			r.audit(a, "skipped: the subject names no account of riscd's", "", nil)
			continue
		}
		if r.t.sub == "" && a != ActionNotify {
			r.audit(a, "skipped: the event names no subject", "", nil)
			continue
		}
		outcome, ids, err := r.do(a)
		if err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		r.audit(a, outcome, "", ids)
	}
	return r.write()
}

// do runs one action and returns its outcome and the grants it changed.
func (r *run) do(action string) (string, []string, error) {
	switch action {
	case ActionEndSessions:
		cutoff := r.oc.sessionCutoff()
		n, err := r.tx.DeleteSessionsOf(r.ctx, r.t.sub, cutoff)
		if err != nil {
			return "", nil, err
		}
		return fmt.Sprintf("ended %d sessions created before %s", n, cutoff.Format(time.RFC3339Nano)), nil, nil
	case ActionSetSessionsRevokedAt:
		cutoff := r.oc.sessionCutoff()
		if !r.t.account.SessionsRevokedAt.Before(cutoff) {
			return "unchanged: sessions_revoked_at is already " + r.t.account.SessionsRevokedAt.Format(time.RFC3339Nano), nil, nil
		}
		r.t.account.SessionsRevokedAt, r.acctDirty = cutoff, true
		return "sessions_revoked_at set to " + cutoff.Format(time.RFC3339Nano), nil, nil
	case ActionRevokeUpstream:
		return r.revokeUpstream()
	case ActionRevokeGrants:
		return r.grants(func(i int) bool {
			g := r.t.grants[i]
			if g.Status == riscd.GrantRevoked && g.RefreshToken == "" && g.AccessToken == "" {
				return false
			}
			r.discardTokens(i)
			r.setStatus(i, riscd.GrantRevoked)
			return true
		}, "revoked %d grants")
	case ActionHoldGrants:
		r.flag(&r.t.account.Held, true)
		return r.grants(func(i int) bool {
			if r.t.grants[i].Status != riscd.GrantActive {
				return false
			}
			r.setStatus(i, riscd.GrantHeld)
			return true
		}, "held %d grants")
	case ActionReleaseHolds:
		r.flag(&r.t.account.Held, false)
		return r.grants(func(i int) bool {
			if r.t.grants[i].Status != riscd.GrantHeld {
				return false
			}
			r.setStatus(i, riscd.GrantActive)
			return true
		}, "released %d grants")
	case ActionDisableSignin:
		return r.flag(&r.t.account.SigninDisabled, true), nil, nil
	case ActionEnableSignin:
		return r.flag(&r.t.account.SigninDisabled, false), nil, nil
	case ActionFlagReview:
		r.addFlag("review")
		return r.flag(&r.t.account.Review, true), nil, nil
	case ActionFlagCredentialChange:
		r.addFlag("credential-change")
		return r.flag(&r.t.account.CredentialChangeRequired, true), nil, nil
	case ActionMarkReconsent:
		return r.flag(&r.t.account.ReconsentRequired, true), nil, nil
	case ActionPurge:
		return r.purge()
	case ActionNotify:
		return r.notify()
	}
	return "", nil, fmt.Errorf("unknown action")
}

// grants applies fn to each grant in scope and reports how many it changed.
func (r *run) grants(fn func(i int) bool, format string) (string, []string, error) {
	var ids []string
	n := 0
	for i := range r.t.grants {
		if r.inScope(i) {
			n++
			if fn(i) {
				ids = append(ids, r.t.grants[i].ID)
			}
		}
	}
	if n == 0 {
		return "no grants", nil, nil
	}
	if len(ids) == 0 {
		return fmt.Sprintf("unchanged: none of %d grants needed it", n), nil, nil
	}
	return fmt.Sprintf(format, len(ids)), ids, nil
}

// flag sets an account flag and describes what happened.
func (r *run) flag(f *bool, v bool) string {
	if *f == v {
		return "unchanged"
	}
	*f, r.acctDirty = v, true
	if v {
		return "set"
	}
	return "cleared"
}

func (r *run) addFlag(name string) {
	if !slices.Contains(r.t.account.Flags, name) {
		r.t.account.Flags = append(slices.Clone(r.t.account.Flags), name)
		r.acctDirty = true
	}
}

// revokeUpstream queues one revoke job per grant in scope that still holds
// a token: the refresh token, else the access token.
func (r *run) revokeUpstream() (string, []string, error) {
	var ids []string
	for i, g := range r.t.grants {
		if !r.inScope(i) {
			continue
		}
		tok := g.RefreshToken
		if tok == "" {
			tok = g.AccessToken
		}
		if tok == "" {
			continue
		}
		if err := r.enqueue(riscd.OutboxJob{Kind: riscd.OutboxRevoke, Key: revokeKey(r.t.sub), Token: tok, GrantID: g.ID}, jobPayload{}); err != nil {
			return "", nil, err
		}
		ids = append(ids, g.ID)
	}
	if len(ids) == 0 {
		return "no tokens to revoke", nil, nil
	}
	return fmt.Sprintf("queued %d upstream revocations", len(ids)), ids, nil
}

// purge revokes every grant of the subject, erases the personal data riscd
// keeps (emails on grants, the account and sessions), and marks the account
// purged. Scope does not narrow it: a purge is about the whole account.
func (r *run) purge() (string, []string, error) {
	var ids []string
	for i := range r.t.grants {
		g := &r.t.grants[i]
		changed := r.discardTokens(i) || g.Email != ""
		g.Email = ""
		if g.Status != riscd.GrantRevoked {
			r.setStatus(i, riscd.GrantRevoked)
			changed = true
		}
		if changed {
			r.touch(i)
			ids = append(ids, g.ID)
		}
	}
	n, err := r.tx.DeleteSessionsOf(r.ctx, r.t.sub, time.Time{})
	if err != nil {
		return "", nil, err
	}
	if r.t.account.Email != "" || !r.t.account.Purged {
		r.t.account.Email, r.t.account.Purged, r.acctDirty = "", true, true
	}
	return fmt.Sprintf("purged: %d grants revoked or erased, %d sessions deleted", len(ids), n), ids, nil
}

// write stores the grants and the account the run changed. A subject known
// only by its grants gets its account now.
func (r *run) write() error {
	for i, d := range r.dirty {
		if d {
			if err := r.tx.PutGrant(r.ctx, r.t.grants[i]); err != nil {
				return err
			}
		}
	}
	if !r.acctDirty {
		return nil
	}
	a := r.t.account
	a.Sub = r.t.sub
	if !r.t.accountFound && !a.Purged {
		for _, g := range r.t.grants {
			if g.Email != "" {
				a.Email = g.Email
			}
		}
	}
	return r.tx.PutAccount(r.ctx, a)
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
