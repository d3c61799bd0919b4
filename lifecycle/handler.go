package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/dispatch"
	"github.com/riscd/riscd/events"
)

// Handler returns the dispatch.Handler the dispatcher calls with each
// delivered SET. It acts on every event of the SET in turn, each in its own
// store transaction with its audit entries, its outbox jobs and the mark
// that makes a redelivery do nothing. Its errors are store failures (the
// dispatcher retries them) and carry no secret; an event it cannot act on
// (unknown subject, untrusted issuer, no matching token) is audited and is
// not an error.
func (l *Lifecycle) Handler() dispatch.Handler { return dispatch.HandlerFunc(l.handle) }

func (l *Lifecycle) handle(ctx context.Context, d dispatch.Delivery) error {
	if d.SET == nil {
		return dispatch.Permanent(errors.New("lifecycle: delivery without a parsed SET"))
	}
	for i, ev := range d.SET.Events {
		if err := l.handleEvent(ctx, d, i, ev); err != nil {
			return fmt.Errorf("lifecycle: %s event %d of jti %q: %w", events.ShortName(ev.Type()), i, d.SET.JTI, err)
		}
	}
	return nil
}

// errRollback ends a dry run's first transaction.
var errRollback = errors.New("lifecycle: dry run rollback")

func (l *Lifecycle) handleEvent(ctx context.Context, d dispatch.Delivery, i int, ev events.Event) error {
	oc := l.occurrenceOf(d, i, ev)
	actions := l.table.lookup(ev)
	if p, ok := l.policies[d.Entry.Transmitter]; ok {
		actions = p.table.lookup(ev)
	}
	mark := eventMark(d.SET.Iss, d.SET.JTI, i, l.cfg.DryRun)
	if l.cfg.DryRun {
		return l.dryRun(ctx, d, ev, oc, actions, mark)
	}
	finish := l.cfg.InboxDone && d.Last && i == len(d.SET.Events)-1
	queued := 0
	// What the transaction reads first: an engine that reads over a
	// network reads them, and those of the other events handled at the
	// same time, in one round trip.
	pre := riscd.Prefetch{Marks: []string{mark}, Audit: len(actions) + 1}
	if is, ok := events.IssSubOf(ev.Subject()); ok {
		pre.Subs = []string{is.Sub}
	}
	if finish {
		pre.Inbox = []uint64{d.Entry.ID}
	}
	err := riscd.BatchPrefetch(ctx, l.cfg.Store, pre, func(tx riscd.Tx) error {
		queued = 0
		done, err := marked(ctx, tx, mark)
		if err != nil {
			return err
		}
		if !done {
			entries, q, err := l.act(ctx, tx, d, ev, oc, actions)
			if err != nil {
				return err
			}
			queued = q
			if err := commitEntries(ctx, tx, entries, mark, false); err != nil {
				return err
			}
		}
		if finish {
			return l.inboxDone(ctx, tx, d.Entry.ID)
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

// inboxDone marks inbox entry id done with the event's effects, counting
// the attempt that succeeded in its Attempts as the dispatcher's Done
// would. An entry already done, or no longer stored, is left as it is.
func (l *Lifecycle) inboxDone(ctx context.Context, tx riscd.Tx, id uint64) error {
	e, err := tx.InboxEntry(ctx, id)
	if errors.Is(err, riscd.ErrNotFound) || err == nil && e.Status == riscd.InboxDone {
		return nil
	}
	if err != nil {
		return err
	}
	e.Status, e.DoneAt = riscd.InboxDone, l.now()
	e.Attempts++
	return tx.PutInboxEntry(ctx, e)
}

// dryRun acts in a transaction it rolls back, then keeps only the audit
// entries, flagged DryRun, and the dry-run mark.
func (l *Lifecycle) dryRun(ctx context.Context, d dispatch.Delivery, ev events.Event, oc *occurrence, actions []string, mark string) error {
	var entries []riscd.AuditEntry
	seen := false
	err := l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		entries, seen = nil, false
		done, err := marked(ctx, tx, mark)
		if err != nil {
			return err
		}
		if done {
			seen = true
			return nil
		}
		if entries, _, err = l.act(ctx, tx, d, ev, oc, actions); err != nil {
			return err
		}
		return errRollback
	})
	if seen {
		return nil
	}
	if !errors.Is(err, errRollback) {
		return err
	}
	return l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		if done, err := marked(ctx, tx, mark); done || err != nil {
			return err
		}
		return commitEntries(ctx, tx, entries, mark, true)
	})
}

func marked(ctx context.Context, tx riscd.Tx, key string) (bool, error) {
	_, err := tx.Mark(ctx, key)
	if errors.Is(err, riscd.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// commitEntries appends the audit entries and the mark naming the first.
func commitEntries(ctx context.Context, tx riscd.Tx, entries []riscd.AuditEntry, mark string, dry bool) error {
	var first uint64
	for _, e := range entries {
		e.DryRun = dry
		stored, err := tx.AppendAudit(ctx, e)
		if err != nil {
			return err
		}
		if first == 0 {
			first = stored.ID
		}
	}
	_, _, err := tx.PutMark(ctx, riscd.Mark{Key: mark, AuditID: first})
	return err
}

// act resolves the event's targets and applies the actions to each. An
// event without a target gets one record entry saying why.
func (l *Lifecycle) act(ctx context.Context, tx riscd.Tx, d dispatch.Delivery, ev events.Event, oc *occurrence, actions []string) ([]riscd.AuditEntry, int, error) {
	targets, why, err := l.resolve(ctx, tx, d, ev)
	if err != nil {
		return nil, 0, err
	}
	if len(targets) == 0 {
		r := l.newRun(ctx, tx, oc, &target{sub: why.sub})
		r.audit(ActionRecord, why.outcome, joinDetail(oc.detail, why.detail), nil)
		return r.entries, 0, nil
	}
	var entries []riscd.AuditEntry
	queued := 0
	for _, t := range targets {
		r := l.newRun(ctx, tx, oc, t)
		if err := r.apply(actions); err != nil {
			return nil, 0, err
		}
		entries = append(entries, r.entries...)
		queued += r.queuedJobs
	}
	return entries, queued, nil
}

// occurrenceOf describes event i of a delivery.
func (l *Lifecycle) occurrenceOf(d dispatch.Delivery, i int, ev events.Event) *occurrence {
	now := l.now()
	at := d.SET.OccurredAt(ev)
	if at.IsZero() || at.After(now) {
		at = now
	}
	cutoff := at
	if at.Nanosecond() == 0 {
		if cutoff = at.Add(time.Second - time.Nanosecond); cutoff.After(now) {
			cutoff = now
		}
	}
	name := events.ShortName(ev.Type())
	if name == keyUnknown {
		name = ev.Type()
	}
	oc := &occurrence{
		transmitter: d.Entry.Transmitter, eventType: ev.Type(), name: name, jti: d.SET.JTI,
		reason: tableKey(ev), changedBy: d.SET.JTI, actor: "event", at: at.UTC(), cutoff: cutoff.UTC(), detail: describe(ev),
		webhookID: eventMark(d.SET.Iss, d.SET.JTI, i, false),
	}
	if e, ok := ev.(events.AccountDisabled); ok {
		oc.whReason = e.Reason
	}
	return oc
}

// eventMark is the store.Mark key of event i of the SET (iss, jti).
func eventMark(iss, jti string, i int, dry bool) string {
	h := sha256.Sum256([]byte(strconv.Itoa(len(iss)) + ":" + iss + jti))
	key := "lifecycle/event/" + hex.EncodeToString(h[:]) + "/" + strconv.Itoa(i)
	if dry {
		key += "/dry-run"
	}
	return key
}

// maxDetail bounds a transmitter-supplied string quoted in an audit entry.
const maxDetail = 128

func quote(s string) string {
	if r := []rune(s); len(r) > maxDetail {
		s = string(r[:maxDetail]) + "…"
	}
	return strconv.Quote(s)
}

// describe is the record entry's detail: the members of an event that say
// what it was about. Never a token identifier.
func describe(ev events.Event) string {
	switch e := ev.(type) {
	case events.AccountDisabled:
		if e.Reason == "" {
			return "reason: none"
		}
		return "reason: " + quote(e.Reason)
	case events.Verification:
		return "state: " + quote(e.State)
	case events.CredentialChange:
		return "credential_type: " + quote(e.CredentialType) + ", change_type: " + quote(e.ChangeType)
	case events.CredentialCompromise:
		return "credential_type: " + quote(e.CredentialType)
	case events.StreamUpdated:
		return "status: " + quote(e.Status) + ", reason: " + quote(e.Reason)
	case events.TokenRevoked:
		return "token identified by " + quote(e.Token.Alg)
	case events.Unknown:
		return "event type riscd does not know: " + quote(e.URI)
	}
	return ""
}
