package riscd

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DB is a Store whose handle also runs every ReadTx and Tx method in a
// transaction of its own, and read-modify-write helpers that cannot lose a
// concurrent update: what every engine's Open returns. Shortcuts makes a DB
// of any Store.
type DB interface {
	Store
	Tx
	UpdateAccount(ctx context.Context, sub string, fn func(a Account, found bool) (Account, error)) (Account, error)
	UpdateGrant(ctx context.Context, id string, fn func(Grant) (Grant, error)) (Grant, error)
	UpdateInbox(ctx context.Context, id uint64, fn func(InboxEntry) (InboxEntry, error)) (InboxEntry, error)
	UpdateOutbox(ctx context.Context, id uint64, fn func(OutboxJob) (OutboxJob, error)) (OutboxJob, error)
}

// Shortcuts gives every ReadTx and Tx method of a Store as a method of its
// own, run in a transaction of its own, and the read-modify-write helpers
// of DB. An engine embeds it, set to itself, so that no engine writes these
// again (overriding any it can do better); Shortcuts{Store: s} is a DB.
type Shortcuts struct {
	Store
}

var _ DB = Shortcuts{}

func view[T any](ctx context.Context, s Store, fn func(ReadTx) (T, error)) (T, error) {
	var out T
	err := s.View(ctx, func(tx ReadTx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

func update[T any](ctx context.Context, s Store, fn func(Tx) (T, error)) (T, error) {
	var out T
	err := s.Update(ctx, func(tx Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

// pair carries a listing's page and cursor through view.
type pair[T any] struct {
	items []T
	next  string
}

func list[T any](ctx context.Context, s Store, fn func(ReadTx) ([]T, string, error)) ([]T, string, error) {
	p, err := view(ctx, s, func(tx ReadTx) (pair[T], error) {
		items, next, err := fn(tx)
		return pair[T]{items, next}, err
	})
	return p.items, p.next, err
}

// Account runs ReadTx.Account in its own transaction.
func (s Shortcuts) Account(ctx context.Context, sub string) (Account, error) {
	return view(ctx, s, func(tx ReadTx) (Account, error) { return tx.Account(ctx, sub) })
}

// AccountsNeedingAttention runs ReadTx.AccountsNeedingAttention in its own
// transaction.
func (s Shortcuts) AccountsNeedingAttention(ctx context.Context, after string, limit int) ([]Account, error) {
	return view(ctx, s, func(tx ReadTx) ([]Account, error) { return tx.AccountsNeedingAttention(ctx, after, limit) })
}

// ListAudit runs ReadTx.ListAudit in its own transaction.
func (s Shortcuts) ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, string, error) {
	return list(ctx, s, func(tx ReadTx) ([]AuditEntry, string, error) { return tx.ListAudit(ctx, q) })
}

// Grant runs ReadTx.Grant in its own transaction.
func (s Shortcuts) Grant(ctx context.Context, id string) (Grant, error) {
	return view(ctx, s, func(tx ReadTx) (Grant, error) { return tx.Grant(ctx, id) })
}

// GrantsByVerifiedEmail runs ReadTx.GrantsByVerifiedEmail in its own
// transaction.
func (s Shortcuts) GrantsByVerifiedEmail(ctx context.Context, email string) ([]Grant, error) {
	return view(ctx, s, func(tx ReadTx) ([]Grant, error) { return tx.GrantsByVerifiedEmail(ctx, email) })
}

// GrantsBySub runs ReadTx.GrantsBySub in its own transaction.
func (s Shortcuts) GrantsBySub(ctx context.Context, sub string) ([]Grant, error) {
	return view(ctx, s, func(tx ReadTx) ([]Grant, error) { return tx.GrantsBySub(ctx, sub) })
}

// GrantByRefreshDigest runs ReadTx.GrantByRefreshDigest in its own
// transaction.
func (s Shortcuts) GrantByRefreshDigest(ctx context.Context, digest []byte) (Grant, error) {
	return view(ctx, s, func(tx ReadTx) (Grant, error) { return tx.GrantByRefreshDigest(ctx, digest) })
}

// GrantsByRefreshPrefix runs ReadTx.GrantsByRefreshPrefix in its own
// transaction.
func (s Shortcuts) GrantsByRefreshPrefix(ctx context.Context, prefix string) ([]Grant, error) {
	return view(ctx, s, func(tx ReadTx) ([]Grant, error) { return tx.GrantsByRefreshPrefix(ctx, prefix) })
}

// CountGrants runs ReadTx.CountGrants in its own transaction.
func (s Shortcuts) CountGrants(ctx context.Context) (map[GrantStatus]int, error) {
	return view(ctx, s, func(tx ReadTx) (map[GrantStatus]int, error) { return tx.CountGrants(ctx) })
}

// ListGrants runs ReadTx.ListGrants in its own transaction.
func (s Shortcuts) ListGrants(ctx context.Context, q GrantQuery) ([]Grant, string, error) {
	return list(ctx, s, func(tx ReadTx) ([]Grant, string, error) { return tx.ListGrants(ctx, q) })
}

// InboxEntry runs ReadTx.InboxEntry in its own transaction.
func (s Shortcuts) InboxEntry(ctx context.Context, id uint64) (InboxEntry, error) {
	return view(ctx, s, func(tx ReadTx) (InboxEntry, error) { return tx.InboxEntry(ctx, id) })
}

// InboxByJTI runs ReadTx.InboxByJTI in its own transaction.
func (s Shortcuts) InboxByJTI(ctx context.Context, iss, jti string) (InboxEntry, error) {
	return view(ctx, s, func(tx ReadTx) (InboxEntry, error) { return tx.InboxByJTI(ctx, iss, jti) })
}

// PendingInbox runs ReadTx.PendingInbox in its own transaction.
func (s Shortcuts) PendingInbox(ctx context.Context, limit int) ([]InboxEntry, error) {
	return view(ctx, s, func(tx ReadTx) ([]InboxEntry, error) { return tx.PendingInbox(ctx, limit) })
}

// PendingInboxAfter runs ReadTx.PendingInboxAfter in its own transaction.
func (s Shortcuts) PendingInboxAfter(ctx context.Context, after uint64, limit int) ([]InboxEntry, error) {
	return view(ctx, s, func(tx ReadTx) ([]InboxEntry, error) { return tx.PendingInboxAfter(ctx, after, limit) })
}

// CountInbox runs ReadTx.CountInbox in its own transaction.
func (s Shortcuts) CountInbox(ctx context.Context, status InboxStatus) (int, error) {
	return view(ctx, s, func(tx ReadTx) (int, error) { return tx.CountInbox(ctx, status) })
}

// ListInbox runs ReadTx.ListInbox in its own transaction.
func (s Shortcuts) ListInbox(ctx context.Context, q InboxQuery) ([]InboxEntry, string, error) {
	return list(ctx, s, func(tx ReadTx) ([]InboxEntry, string, error) { return tx.ListInbox(ctx, q) })
}

// Mark runs ReadTx.Mark in its own transaction.
func (s Shortcuts) Mark(ctx context.Context, key string) (Mark, error) {
	return view(ctx, s, func(tx ReadTx) (Mark, error) { return tx.Mark(ctx, key) })
}

// OutboxJob runs ReadTx.OutboxJob in its own transaction.
func (s Shortcuts) OutboxJob(ctx context.Context, id uint64) (OutboxJob, error) {
	return view(ctx, s, func(tx ReadTx) (OutboxJob, error) { return tx.OutboxJob(ctx, id) })
}

// PendingOutbox runs ReadTx.PendingOutbox in its own transaction.
func (s Shortcuts) PendingOutbox(ctx context.Context, limit int) ([]OutboxJob, error) {
	return view(ctx, s, func(tx ReadTx) ([]OutboxJob, error) { return tx.PendingOutbox(ctx, limit) })
}

// PendingOutboxAfter runs ReadTx.PendingOutboxAfter in its own transaction.
func (s Shortcuts) PendingOutboxAfter(ctx context.Context, after uint64, limit int) ([]OutboxJob, error) {
	return view(ctx, s, func(tx ReadTx) ([]OutboxJob, error) { return tx.PendingOutboxAfter(ctx, after, limit) })
}

// FailedOutbox runs ReadTx.FailedOutbox in its own transaction.
func (s Shortcuts) FailedOutbox(ctx context.Context, limit int) ([]OutboxJob, error) {
	return view(ctx, s, func(tx ReadTx) ([]OutboxJob, error) { return tx.FailedOutbox(ctx, limit) })
}

// Session runs ReadTx.Session in its own transaction.
func (s Shortcuts) Session(ctx context.Context, id Secret) (Session, error) {
	return view(ctx, s, func(tx ReadTx) (Session, error) { return tx.Session(ctx, id) })
}

// PutAccount runs Tx.PutAccount in its own transaction.
func (s Shortcuts) PutAccount(ctx context.Context, a Account) error {
	return s.Update(ctx, func(tx Tx) error { return tx.PutAccount(ctx, a) })
}

// AppendAudit runs Tx.AppendAudit in its own transaction.
func (s Shortcuts) AppendAudit(ctx context.Context, e AuditEntry) (AuditEntry, error) {
	return update(ctx, s, func(tx Tx) (AuditEntry, error) { return tx.AppendAudit(ctx, e) })
}

// CreateFlow runs Tx.CreateFlow in its own transaction.
func (s Shortcuts) CreateFlow(ctx context.Context, f Flow) error {
	return s.Update(ctx, func(tx Tx) error { return tx.CreateFlow(ctx, f) })
}

// TakeFlow runs Tx.TakeFlow in its own transaction.
func (s Shortcuts) TakeFlow(ctx context.Context, id Secret) (Flow, error) {
	return update(ctx, s, func(tx Tx) (Flow, error) { return tx.TakeFlow(ctx, id) })
}

// DeleteFlowsBefore runs Tx.DeleteFlowsBefore in its own transaction.
func (s Shortcuts) DeleteFlowsBefore(ctx context.Context, before time.Time) (int, error) {
	return update(ctx, s, func(tx Tx) (int, error) { return tx.DeleteFlowsBefore(ctx, before) })
}

// CreateGrant runs Tx.CreateGrant in its own transaction.
func (s Shortcuts) CreateGrant(ctx context.Context, g Grant) (Grant, error) {
	return update(ctx, s, func(tx Tx) (Grant, error) { return tx.CreateGrant(ctx, g) })
}

// PutGrant runs Tx.PutGrant in its own transaction.
func (s Shortcuts) PutGrant(ctx context.Context, g Grant) error {
	return s.Update(ctx, func(tx Tx) error { return tx.PutGrant(ctx, g) })
}

// DeleteGrant runs Tx.DeleteGrant in its own transaction.
func (s Shortcuts) DeleteGrant(ctx context.Context, id string) error {
	return s.Update(ctx, func(tx Tx) error { return tx.DeleteGrant(ctx, id) })
}

// PutInbox runs Tx.PutInbox through Batch, so concurrent callers may
// share a commit. Receivers use Store.Inbox instead.
func (s Shortcuts) PutInbox(ctx context.Context, e InboxEntry) (InboxEntry, bool, error) {
	var out InboxEntry
	var created bool
	err := s.Batch(ctx, func(tx Tx) error {
		var err error
		out, created, err = tx.PutInbox(ctx, e)
		return err
	})
	return out, created, err
}

// PutInboxEntry runs Tx.PutInboxEntry in its own transaction.
func (s Shortcuts) PutInboxEntry(ctx context.Context, e InboxEntry) error {
	return s.Update(ctx, func(tx Tx) error { return tx.PutInboxEntry(ctx, e) })
}

// PutMark runs Tx.PutMark in its own transaction.
func (s Shortcuts) PutMark(ctx context.Context, m Mark) (Mark, bool, error) {
	var created bool
	out, err := update(ctx, s, func(tx Tx) (Mark, error) {
		var err error
		var out Mark
		out, created, err = tx.PutMark(ctx, m)
		return out, err
	})
	return out, created, err
}

// EnqueueOutbox runs Tx.EnqueueOutbox in its own transaction.
func (s Shortcuts) EnqueueOutbox(ctx context.Context, j OutboxJob) (OutboxJob, error) {
	return update(ctx, s, func(tx Tx) (OutboxJob, error) { return tx.EnqueueOutbox(ctx, j) })
}

// PutOutboxJob runs Tx.PutOutboxJob in its own transaction.
func (s Shortcuts) PutOutboxJob(ctx context.Context, j OutboxJob) error {
	return s.Update(ctx, func(tx Tx) error { return tx.PutOutboxJob(ctx, j) })
}

// AdminSession runs ReadTx.AdminSession in its own transaction.
func (s Shortcuts) AdminSession(ctx context.Context, id Secret) (AdminSession, error) {
	return view(ctx, s, func(tx ReadTx) (AdminSession, error) { return tx.AdminSession(ctx, id) })
}

// CreateAdminSession runs Tx.CreateAdminSession in its own transaction.
func (s Shortcuts) CreateAdminSession(ctx context.Context, sess AdminSession, max int) error {
	return s.Update(ctx, func(tx Tx) error { return tx.CreateAdminSession(ctx, sess, max) })
}

// DeleteAdminSession runs Tx.DeleteAdminSession in its own transaction.
func (s Shortcuts) DeleteAdminSession(ctx context.Context, id Secret) error {
	return s.Update(ctx, func(tx Tx) error { return tx.DeleteAdminSession(ctx, id) })
}

// CreateSession runs Tx.CreateSession in its own transaction.
func (s Shortcuts) CreateSession(ctx context.Context, sess Session) error {
	return s.Update(ctx, func(tx Tx) error { return tx.CreateSession(ctx, sess) })
}

// DeleteSession runs Tx.DeleteSession in its own transaction.
func (s Shortcuts) DeleteSession(ctx context.Context, id Secret) error {
	return s.Update(ctx, func(tx Tx) error { return tx.DeleteSession(ctx, id) })
}

// DeleteSessionsOf runs Tx.DeleteSessionsOf in its own transaction.
func (s Shortcuts) DeleteSessionsOf(ctx context.Context, sub string, createdBefore time.Time) (int, error) {
	return update(ctx, s, func(tx Tx) (int, error) { return tx.DeleteSessionsOf(ctx, sub, createdBefore) })
}

// DeleteExpiredSessions runs Tx.DeleteExpiredSessions in its own
// transaction.
func (s Shortcuts) DeleteExpiredSessions(ctx context.Context) (int, error) {
	return update(ctx, s, func(tx Tx) (int, error) { return tx.DeleteExpiredSessions(ctx) })
}

// UpdateAccount applies fn to the account of sub (the zero Account with
// Sub set and found false when there is none) and stores the result, in
// one transaction. fn may run more than once. Sub cannot change. It
// returns the account as stored.
func (s Shortcuts) UpdateAccount(ctx context.Context, sub string, fn func(a Account, found bool) (Account, error)) (Account, error) {
	return update(ctx, s, func(tx Tx) (Account, error) {
		a, err := tx.Account(ctx, sub)
		found := err == nil
		switch {
		case errors.Is(err, ErrNotFound):
			a = Account{Sub: sub}
		case err != nil:
			return Account{}, err
		}
		a, err = fn(a, found)
		if err != nil {
			return Account{}, fmt.Errorf("store: update account: %w", err)
		}
		a.Sub = sub
		if err := tx.PutAccount(ctx, a); err != nil {
			return Account{}, err
		}
		return tx.Account(ctx, sub)
	})
}

// UpdateGrant applies fn to the grant id and stores the result, in one
// transaction, so concurrent updates never lose one another. fn may run
// more than once. The ID cannot change. Errors: ErrNotFound, fn's error
// (nothing is written), or PutGrant's.
func (s Shortcuts) UpdateGrant(ctx context.Context, id string, fn func(Grant) (Grant, error)) (Grant, error) {
	return update(ctx, s, func(tx Tx) (Grant, error) {
		g, err := tx.Grant(ctx, id)
		if err != nil {
			return Grant{}, err
		}
		if g, err = fn(g); err != nil {
			return Grant{}, fmt.Errorf("store: update grant %s: %w", id, err)
		}
		g.ID = id
		if err := tx.PutGrant(ctx, g); err != nil {
			return Grant{}, err
		}
		return tx.Grant(ctx, id)
	})
}

// UpdateInbox applies fn to the inbox entry id and stores the result, in
// one transaction. fn may run more than once. ID, Iss and JTI cannot
// change. Errors: ErrNotFound, fn's error (nothing is written), or
// PutInboxEntry's.
func (s Shortcuts) UpdateInbox(ctx context.Context, id uint64, fn func(InboxEntry) (InboxEntry, error)) (InboxEntry, error) {
	return update(ctx, s, func(tx Tx) (InboxEntry, error) {
		e, err := tx.InboxEntry(ctx, id)
		if err != nil {
			return InboxEntry{}, err
		}
		iss, jti := e.Iss, e.JTI
		if e, err = fn(e); err != nil {
			return InboxEntry{}, fmt.Errorf("store: update inbox entry %d: %w", id, err)
		}
		e.ID, e.Iss, e.JTI = id, iss, jti
		if err := tx.PutInboxEntry(ctx, e); err != nil {
			return InboxEntry{}, err
		}
		return tx.InboxEntry(ctx, id)
	})
}

// UpdateOutbox applies fn to the outbox job id and stores the result, in
// one transaction. fn may run more than once. The ID cannot change.
// Errors: ErrNotFound, fn's error (nothing is written), or PutOutboxJob's.
func (s Shortcuts) UpdateOutbox(ctx context.Context, id uint64, fn func(OutboxJob) (OutboxJob, error)) (OutboxJob, error) {
	return update(ctx, s, func(tx Tx) (OutboxJob, error) {
		j, err := tx.OutboxJob(ctx, id)
		if err != nil {
			return OutboxJob{}, err
		}
		if j, err = fn(j); err != nil {
			return OutboxJob{}, fmt.Errorf("store: update outbox job %d: %w", id, err)
		}
		j.ID = id
		if err := tx.PutOutboxJob(ctx, j); err != nil {
			return OutboxJob{}, err
		}
		return tx.OutboxJob(ctx, id)
	})
}
