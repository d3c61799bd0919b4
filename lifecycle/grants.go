package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riscd/riscd"
)

// The grants service: what happens to a grant besides security events. A
// consent creates or replaces one (SaveConsent), the broker refreshes it
// (GrantToken, Token), the user revokes it upstream (RevokeUserGrants) and
// an operator discards it (DiscardGrant). flowweb and admin call these
// through interfaces of their own over store types.

// replacedRevokeDeadline is how long the outbox may keep trying to revoke a
// refresh token a new consent replaced.
const replacedRevokeDeadline = 7 * 24 * time.Hour

// userRevokeTimeout bounds a user's revocation call to the revoke endpoint.
const userRevokeTimeout = 15 * time.Second

// ErrSigninDisabled is SaveConsent's refusal of a consent of an account
// whose sign-in a security event disabled. It has a method
// SigninDisabled() bool returning true, by which packages that do not
// import this one recognise it.
var ErrSigninDisabled error = signinDisabledError{}

type signinDisabledError struct{}

func (signinDisabledError) Error() string        { return "lifecycle: sign-in disabled for this account" }
func (signinDisabledError) SigninDisabled() bool { return true }

// liveGrant reports whether a grant still holds tokens riscd may use again.
func liveGrant(s riscd.GrantStatus) bool {
	return s == riscd.GrantActive || s == riscd.GrantHeld || s == riscd.GrantReauthRequired
}

// SaveConsent stores the result of a consent in one transaction. c carries
// what the token endpoint and the ID token gave: Sub, Email, EmailVerified,
// Scopes (sorted), AccessToken, RefreshToken (zero when none came),
// TokenType, Expiry and IDTokenExp; its other fields are ignored. The
// subject's newest active or reauth_required grant (or held grant, when
// the account is held) is updated, else a grant is created; it is held
// when the account is held, since a consent does not lift a hold. A
// refresh token the consent replaces is queued in the outbox for upstream
// revocation (RFC 7009), audited. The account's email is updated and its
// reconsent_required mark cleared. sess, unless its ID is zero, is created,
// and the session oldSession (if any) deleted, in the same transaction. It
// returns the grant as stored. Errors: ErrSigninDisabled when the
// account's sign-in is disabled, else a store failure; on error nothing is
// written.
func (l *Lifecycle) SaveConsent(ctx context.Context, c riscd.Grant, sess riscd.Session, oldSession riscd.Secret) (riscd.Grant, error) {
	now := l.now()
	var saved riscd.Grant
	queued := false
	err := l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		var err error
		if saved, queued, err = saveConsentTx(ctx, tx, c, now); err != nil {
			return err
		}
		if !oldSession.IsZero() {
			if err := tx.DeleteSession(ctx, oldSession); err != nil && !errors.Is(err, riscd.ErrNotFound) {
				return fmt.Errorf("delete previous session: %w", err)
			}
		}
		if !sess.ID.IsZero() {
			if err := tx.CreateSession(ctx, sess); err != nil {
				return fmt.Errorf("create session: %w", err)
			}
		}
		return nil
	})
	if errors.Is(err, ErrSigninDisabled) {
		return riscd.Grant{}, ErrSigninDisabled
	}
	if err != nil {
		return riscd.Grant{}, fmt.Errorf("lifecycle: save consent: %w", err)
	}
	if queued {
		l.NotifyOutbox()
	}
	return saved, nil
}

// saveConsentTx is SaveConsent's grant and account writes inside tx.
func saveConsentTx(ctx context.Context, tx riscd.Tx, c riscd.Grant, now time.Time) (saved riscd.Grant, queued bool, err error) {
	acct, err := tx.Account(ctx, c.Sub)
	if errors.Is(err, riscd.ErrNotFound) {
		acct, err = riscd.Account{Sub: c.Sub}, nil
	}
	if err != nil {
		return riscd.Grant{}, false, fmt.Errorf("read account: %w", err)
	}
	if acct.SigninDisabled {
		return riscd.Grant{}, false, ErrSigninDisabled
	}
	gs, err := tx.GrantsBySub(ctx, c.Sub)
	if err != nil {
		return riscd.Grant{}, false, fmt.Errorf("grants of subject: %w", err)
	}
	if saved, queued, err = putConsentGrant(ctx, tx, gs, c, acct.Held, now); err != nil {
		return riscd.Grant{}, false, err
	}
	if c.Email != "" {
		acct.Email = c.Email
	}
	acct.ReconsentRequired = false
	if err := tx.PutAccount(ctx, acct); err != nil {
		return riscd.Grant{}, false, fmt.Errorf("put account: %w", err)
	}
	return saved, queued, nil
}

// putConsentGrant updates the subject's newest active or reauth_required
// grant (or held grant, when held) or creates one, inside tx, with the
// audit entries of what it did. queued reports an outbox job.
func putConsentGrant(ctx context.Context, tx riscd.Tx, gs []riscd.Grant, c riscd.Grant, held bool, now time.Time) (saved riscd.Grant, queued bool, err error) {
	status := riscd.GrantActive
	if held {
		status = riscd.GrantHeld
	}
	var cur *riscd.Grant
	for i := len(gs) - 1; i >= 0; i-- {
		st := gs[i].Status
		if st == riscd.GrantActive || st == riscd.GrantReauthRequired || (held && st == riscd.GrantHeld) {
			cur = &gs[i]
			break
		}
	}
	audit := riscd.AuditEntry{At: now, Sub: c.Sub, Action: "consent", Actor: "user",
		Detail: "scopes: " + strings.Join(c.Scopes, " ")}
	if cur == nil {
		g, err := tx.CreateGrant(ctx, riscd.Grant{
			Sub: c.Sub, Email: c.Email, EmailVerified: c.EmailVerified, Scopes: c.Scopes,
			RefreshToken: c.RefreshToken, AccessToken: c.AccessToken, TokenType: c.TokenType,
			Expiry: c.Expiry, IDTokenExp: c.IDTokenExp,
			Status: status, Reason: "consent", ChangedBy: "user",
		})
		if err != nil {
			return riscd.Grant{}, false, fmt.Errorf("create grant: %w", err)
		}
		audit.GrantIDs, audit.Outcome = []string{g.ID}, "grant created"
		if c.RefreshToken.IsZero() {
			audit.Outcome += " without a refresh token"
		}
		if held {
			audit.Outcome += "; held (the account is on hold)"
		}
		if _, err := tx.AppendAudit(ctx, audit); err != nil {
			return riscd.Grant{}, false, fmt.Errorf("audit: %w", err)
		}
		return g, false, nil
	}
	g := *cur
	if !c.RefreshToken.IsZero() && c.RefreshToken != g.RefreshToken {
		if !g.RefreshToken.IsZero() {
			// The replaced token still works at Google until revoked.
			job, err := tx.EnqueueOutbox(ctx, riscd.OutboxJob{
				Kind: riscd.OutboxRevoke, Key: c.Sub, Token: g.RefreshToken, GrantID: g.ID,
				CreatedAt: now, Deadline: now.Add(replacedRevokeDeadline),
			})
			if err != nil {
				return riscd.Grant{}, false, fmt.Errorf("queue revocation of the replaced refresh token: %w", err)
			}
			queued = true
			if _, err := tx.AppendAudit(ctx, riscd.AuditEntry{
				At: now, Sub: c.Sub, GrantIDs: []string{g.ID}, Action: "replace-refresh-token", Actor: "user",
				Outcome: "old token queued for upstream revocation",
				Detail:  fmt.Sprintf("outbox job %d", job.ID),
			}); err != nil {
				return riscd.Grant{}, false, fmt.Errorf("audit: %w", err)
			}
		}
		g.RefreshToken = c.RefreshToken
	}
	if c.Email != "" {
		g.Email, g.EmailVerified = c.Email, c.EmailVerified
	}
	g.Scopes, g.AccessToken, g.TokenType, g.Expiry = c.Scopes, c.AccessToken, c.TokenType, c.Expiry
	g.IDTokenExp = c.IDTokenExp
	g.Status, g.Reason, g.ChangedBy = status, "consent", "user"
	if err := tx.PutGrant(ctx, g); err != nil {
		return riscd.Grant{}, false, fmt.Errorf("update grant: %w", err)
	}
	audit.GrantIDs, audit.Outcome = []string{g.ID}, "grant updated"
	if held {
		audit.Outcome += "; held (the account is on hold)"
	}
	if _, err := tx.AppendAudit(ctx, audit); err != nil {
		return riscd.Grant{}, false, fmt.Errorf("audit: %w", err)
	}
	return g, queued, nil
}

// RevokeUserGrants is a user's revocation of their own grant: the token of
// sub's newest live grant (its refresh token, or its access token when it
// has none) is sent to the revoke endpoint at once (RFC 7009 §2.1), then,
// whatever the answer, every live grant of sub is marked revoked
// (reason user-revoked) and its tokens discarded, with one audit entry, in
// one transaction: revoking one token of a grant ends the whole grant at
// Google. confirmed reports whether the endpoint answered 200; outcome
// says so in a short phrase for a page and the audit log, never holding a
// token. Errors: riscd.ErrNotFound (wrapped) when sub has no live grant
// (nothing is sent or written), else a store failure.
func (l *Lifecycle) RevokeUserGrants(ctx context.Context, sub string) (confirmed bool, outcome string, err error) {
	var gs []riscd.Grant
	err = l.cfg.Store.View(ctx, func(tx riscd.ReadTx) error {
		var err error
		gs, err = tx.GrantsBySub(ctx, sub)
		return err
	})
	if err != nil {
		return false, "", fmt.Errorf("lifecycle: revoke: grants of subject: %w", err)
	}
	var token riscd.Secret
	found := false
	for i := len(gs) - 1; i >= 0 && !found; i-- {
		if liveGrant(gs[i].Status) {
			found, token = true, gs[i].RefreshToken
			if token.IsZero() {
				token = gs[i].AccessToken
			}
		}
	}
	if !found {
		return false, "", fmt.Errorf("lifecycle: revoke: no live grant: %w", riscd.ErrNotFound)
	}
	outcome = "no token to send"
	if !token.IsZero() {
		confirmed, outcome = l.revokeNow(ctx, token)
	}
	if err := l.discardUserGrants(ctx, sub, confirmed, outcome); err != nil {
		return confirmed, outcome, fmt.Errorf("lifecycle: revoke: discard grants: %w", err)
	}
	return confirmed, outcome, nil
}

// revokeNow asks the revoke endpoint to revoke token and reports whether it
// answered 200, with a short outcome (never the token).
func (l *Lifecycle) revokeNow(ctx context.Context, token riscd.Secret) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, userRevokeTimeout)
	defer cancel()
	a, err := l.cfg.Revoker.Revoke(ctx, token)
	if err != nil {
		l.log.WarnContext(ctx, "lifecycle: revoke endpoint unreachable", "err", err)
		return false, "the revoke endpoint could not be reached"
	}
	if a.Revoked() {
		return true, "confirmed (HTTP 200)"
	}
	if a.Code != "" {
		return false, fmt.Sprintf("the revoke endpoint answered HTTP %d, %s", a.Status, a.Code)
	}
	return false, fmt.Sprintf("the revoke endpoint answered HTTP %d", a.Status)
}

// discardUserGrants marks every live grant of sub revoked by the user,
// empties their tokens and appends one audit entry, in one transaction.
func (l *Lifecycle) discardUserGrants(ctx context.Context, sub string, confirmed bool, outcome string) error {
	now := l.now()
	return l.cfg.Store.Update(ctx, func(tx riscd.Tx) error {
		gs, err := tx.GrantsBySub(ctx, sub)
		if err != nil {
			return fmt.Errorf("grants of subject: %w", err)
		}
		var ids []string
		for _, g := range gs {
			if !liveGrant(g.Status) {
				continue
			}
			g.Status, g.Reason, g.ChangedBy = riscd.GrantRevoked, "user-revoked", "user"
			g.RefreshToken, g.AccessToken = "", ""
			if err := tx.PutGrant(ctx, g); err != nil {
				return fmt.Errorf("put grant: %w", err)
			}
			ids = append(ids, g.ID)
		}
		result := "unconfirmed upstream"
		if confirmed {
			result = "confirmed upstream"
		}
		_, err = tx.AppendAudit(ctx, riscd.AuditEntry{
			At: now, Sub: sub, GrantIDs: ids, Action: "revoke", Actor: "user",
			Outcome: "revoked; " + result, Detail: outcome,
		})
		return err
	})
}

// DiscardGrant is an operator's (or a policy's) delete of one grant, actor
// naming who asks ("operator" when empty): in one transaction the grant is
// revoked and its tokens discarded, a call to Google's revoke endpoint is
// queued in the outbox (Google still honours the token), the change is
// audited, and a webhook is queued. Calling it again changes nothing and
// queues nothing. It is not subject to DryRun. Errors: riscd.ErrNotFound
// (wrapped) for an unknown grant, or a store failure.
func (l *Lifecycle) DiscardGrant(ctx context.Context, grantID, actor string) error {
	return l.operate(ctx, Op{Actor: actor}, "discard-grant", []string{ActionRevokeUpstream, ActionRevokeGrants},
		func(tx riscd.Tx) (*target, error) {
			g, err := tx.Grant(ctx, grantID)
			if err != nil {
				return nil, err
			}
			t, _, err := loadTarget(ctx, tx, g.Sub, map[string]bool{g.ID: true})
			return t, err
		})
}
