package lifecycle

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riscd/riscd"
)

// Connect sessions: an app sends one of its users through the consent flow
// (flowweb) and learns which account and scopes the user granted. The
// companion API creates and reads them; flowweb ends them through these
// methods, which write the grant, the link between the app user and the
// account, the session's result and the webhook together.

// ErrConnectEnded is ConnectConsent's refusal of a connect session that is
// not started (pending, or already ended) or has expired: nothing is
// written. It has a method ConnectEnded() bool returning true, by which
// packages that do not import this one recognise it.
var ErrConnectEnded error = connectEndedError{}

type connectEndedError struct{}

func (connectEndedError) Error() string      { return "lifecycle: connect session not in progress" }
func (connectEndedError) ConnectEnded() bool { return true }

// ConnectConsent stores the consent c of the connect session id (started
// and not expired) and ends the session connected, in one transaction: the
// grant and account as SaveConsent does (without a browser session of
// riscd's), the link between the session's app user and c.Sub, the
// session's result (Sub, Email, GrantID, Scopes), an audit entry and, when
// a webhook is configured, the grant.connected webhook. It returns the
// session as ended. Errors: riscd.ErrNotFound (wrapped) for an unknown
// session; ErrConnectEnded, with the session as stored, when it is not in
// progress; ErrSigninDisabled when the account's sign-in is disabled; else
// a store failure. On error nothing is written.
func (l *Lifecycle) ConnectConsent(ctx context.Context, id string, c riscd.Grant) (riscd.ConnectSession, error) {
	now := l.now()
	var s riscd.ConnectSession
	queued := false
	err := l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		queued = false
		var err error
		if s, err = tx.ConnectSession(ctx, id); err != nil {
			return err
		}
		if s.Status != riscd.ConnectStarted || s.Expired(now) {
			return ErrConnectEnded
		}
		g, revokeQueued, err := saveConsentTx(ctx, tx, c, now)
		if err != nil {
			return err
		}
		if _, _, err := tx.LinkAppUser(ctx, riscd.AppUserLink{AppUser: s.AppUser, Sub: g.Sub, CreatedAt: now}); err != nil {
			return fmt.Errorf("link app user: %w", err)
		}
		s.Status, s.Sub, s.Email, s.GrantID, s.Scopes, s.Error = riscd.ConnectConnected, g.Sub, c.Email, g.ID, c.Scopes, ""
		if err := tx.PutConnectSession(ctx, s); err != nil {
			return fmt.Errorf("put connect session: %w", err)
		}
		if _, err := tx.AppendAudit(ctx, riscd.AuditEntry{At: now, Sub: g.Sub, GrantIDs: []string{g.ID}, Action: "connect",
			Actor: "user", Outcome: "linked to an app user", Detail: "connect session " + s.ID}); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		webhook, err := l.queueConnected(ctx, tx, s, now)
		if err != nil {
			return err
		}
		queued = revokeQueued || webhook
		return nil
	})
	switch {
	case errors.Is(err, ErrConnectEnded):
		return s, ErrConnectEnded
	case errors.Is(err, ErrSigninDisabled):
		return riscd.ConnectSession{}, ErrSigninDisabled
	case err != nil:
		return riscd.ConnectSession{}, fmt.Errorf("lifecycle: connect: %w", err)
	}
	if queued {
		l.NotifyOutbox()
	}
	return s, nil
}

// queueConnected queues the grant.connected webhook of the session s, just
// connected, and reports whether it did (not without a webhook URL).
func (l *Lifecycle) queueConnected(ctx context.Context, tx riscd.Tx, s riscd.ConnectSession, now time.Time) (bool, error) {
	if l.signer == nil {
		return false, nil
	}
	appUsers, err := appUsersOf(ctx, tx, s.Sub)
	if err != nil {
		return false, err
	}
	payload := WebhookPayload{
		Type: WebhookConnected, Sub: s.Sub, GrantIDs: []string{s.GrantID}, Action: "connect", At: now.UTC(),
		AppUsers: appUsers, AppUser: s.AppUser, ConnectID: s.ID,
	}
	rule, err := sessionRuleIn(ctx, tx, s.Sub)
	if err != nil {
		return false, err
	}
	payload.setRule(rule)
	body, err := json.Marshal(payload)
	if err != nil {
		return false, fmt.Errorf("webhook body: %w", err)
	}
	wid := webhookID("connect:"+s.ID, s.Sub)
	p, err := json.Marshal(jobPayload{Sub: s.Sub, EventType: WebhookConnected, WebhookID: wid, Body: body})
	if err != nil {
		return false, fmt.Errorf("outbox payload: %w", err)
	}
	_, err = tx.EnqueueOutbox(ctx, riscd.OutboxJob{Kind: riscd.OutboxWebhook, Key: webhookKey(s.Sub), Payload: p,
		CreatedAt: now, Deadline: now.Add(l.cfg.OutboxMaxAge)})
	if err != nil {
		return false, fmt.Errorf("enqueue webhook: %w", err)
	}
	return true, nil
}

// EndConnect ends the connect session id with status (ConnectDenied or
// ConnectError) and the short code why, unless it has ended already, and
// returns it as stored: an ended session keeps its result. An expired
// session is ended too (a browser that comes back late is sent back with
// status=error). Errors: riscd.ErrNotFound (wrapped) for an unknown
// session, else a store failure.
func (l *Lifecycle) EndConnect(ctx context.Context, id string, status riscd.ConnectStatus, code string) (riscd.ConnectSession, error) {
	if status != riscd.ConnectDenied && status != riscd.ConnectError {
		return riscd.ConnectSession{}, fmt.Errorf("lifecycle: end connect: status %q: %w", status, riscd.ErrInvalid)
	}
	var s riscd.ConnectSession
	err := l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		var err error
		if s, err = tx.ConnectSession(ctx, id); err != nil || s.Status.Ended() {
			return err
		}
		s.Status, s.Error = status, code
		return tx.PutConnectSession(ctx, s)
	})
	if err != nil {
		return riscd.ConnectSession{}, fmt.Errorf("lifecycle: end connect: %w", err)
	}
	return s, nil
}

// UnlinkAppUser removes the link between appUser and sub and, with revoke,
// discards every live grant of sub as DiscardGrant does (actor "app"): the
// grant is revoked at the provider even though other app users may be
// linked to sub. Errors: riscd.ErrNotFound (wrapped) when they are not
// linked (nothing is done), else a store failure.
func (l *Lifecycle) UnlinkAppUser(ctx context.Context, appUser, sub string, revoke bool) error {
	var live []string
	err := l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		live = live[:0]
		if err := tx.UnlinkAppUser(ctx, appUser, sub); err != nil {
			return err
		}
		gs, err := tx.GrantsBySub(ctx, sub)
		if err != nil {
			return err
		}
		for _, g := range gs {
			if liveGrant(g.Status) {
				live = append(live, g.ID)
			}
		}
		_, err = tx.AppendAudit(ctx, riscd.AuditEntry{At: l.now(), Sub: sub, Action: "unlink", Actor: "app",
			Outcome: "unlinked from an app user"})
		return err
	})
	if err != nil {
		return fmt.Errorf("lifecycle: unlink: %w", err)
	}
	if !revoke {
		return nil
	}
	for _, id := range live {
		if err := l.DiscardGrant(ctx, id, "app"); err != nil {
			return fmt.Errorf("lifecycle: unlink: %w", err)
		}
	}
	return nil
}

// Why StartConnect did not start a connect session.
const (
	ConnectBadToken = "bad_token" // the start token is not the session's: nothing changed
	ConnectExpired  = "expired"   // the session expired: it is ended with status error
	ConnectReused   = "reused"    // the session was started (or ended) before: it is ended with status error
)

// StartConnect starts the connect session id for the browser that holds
// its start token: in one transaction it checks token against the
// session's StartDigest, marks the session started with the digest of
// flow's state, and stores flow (whose ConnectID it sets). A session is
// started once: a second start, or a start after it expired, ends it with
// status error, so that a leaked link fails closed. problem is "" when it
// started, else ConnectBadToken, ConnectExpired or ConnectReused; s is the
// session as stored. Errors: riscd.ErrNotFound (wrapped) for an unknown
// session, else a store failure.
func (l *Lifecycle) StartConnect(ctx context.Context, id string, token riscd.Secret, flow riscd.Flow) (s riscd.ConnectSession, problem string, err error) {
	now := l.now()
	err = l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		problem = ""
		var err error
		if s, err = tx.ConnectSession(ctx, id); err != nil {
			return err
		}
		switch {
		case subtle.ConstantTimeCompare(riscd.IDDigest(token), s.StartDigest) != 1:
			problem = ConnectBadToken
			return nil
		case s.Expired(now):
			problem = ConnectExpired
		case s.Status != riscd.ConnectPending:
			problem = ConnectReused
		}
		if problem != "" {
			if s.Status.Ended() {
				return nil
			}
			s.Status, s.Error = riscd.ConnectError, problem
			return tx.PutConnectSession(ctx, s)
		}
		s.Status, s.StateDigest = riscd.ConnectStarted, riscd.IDDigest(flow.State)
		if err := tx.PutConnectSession(ctx, s); err != nil {
			return err
		}
		flow.ConnectID = s.ID
		return tx.CreateFlow(ctx, flow)
	})
	if err != nil {
		return riscd.ConnectSession{}, "", fmt.Errorf("lifecycle: start connect: %w", err)
	}
	return s, problem, nil
}
