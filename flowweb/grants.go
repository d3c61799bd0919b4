package flowweb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riscd/riscd/store"
)

// outboxRevokeDeadline is how long the outbox may keep trying to revoke a
// replaced refresh token upstream.
const outboxRevokeDeadline = 7 * 24 * time.Hour

// liveStatus reports whether a grant still holds tokens riscd may use again.
func liveStatus(s store.GrantStatus) bool {
	return s == store.GrantActive || s == store.GrantHeld || s == store.GrantReauthRequired
}

// currentGrant returns the subject's newest live grant and true, or, when
// none is live, its newest grant (possibly the zero Grant) and false. The
// error is a storage failure.
func (h *Handler) currentGrant(ctx context.Context, sub string) (store.Grant, bool, error) {
	gs, err := h.store.GrantsBySub(ctx, sub)
	if err != nil {
		return store.Grant{}, false, fmt.Errorf("grants of subject: %w", err)
	}
	return pickGrant(gs)
}

// pickGrant chooses from grants listed oldest first.
func pickGrant(gs []store.Grant) (store.Grant, bool, error) {
	for i := len(gs) - 1; i >= 0; i-- {
		if liveStatus(gs[i].Status) {
			return gs[i], true, nil
		}
	}
	if len(gs) > 0 {
		return gs[len(gs)-1], false, nil
	}
	return store.Grant{}, false, nil
}

// consent is a verified answer of the token endpoint.
type consent struct {
	sub, email   string
	emailOK      bool     // the ID token marked email verified
	scopes       []string // granted, sorted
	access       store.Secret
	refresh      store.Secret // empty when none came
	tokenType    string
	expiry       time.Time
	idTokenExpAt time.Time
}

// saveConsent stores a consent in one transaction: the subject's active (or
// reauth_required) grant is updated, or a new grant is created (held when
// the account is held); a replaced
// refresh token goes to the outbox for upstream revocation with an audit
// entry; the account is updated; the browser's previous session (if any) is
// replaced by a new one, which it returns. On error nothing is written.
func (h *Handler) saveConsent(ctx context.Context, cs consent, oldSession store.Secret) (store.Session, store.Grant, error) {
	now := h.now()
	sess := store.Session{
		ID: newSecret(), Sub: cs.sub, Email: cs.email, CSRF: newSecret(),
		CreatedAt: now, ExpiresAt: now.Add(h.cfg.SessionTTL),
	}
	var saved store.Grant
	err := h.store.Update(ctx, func(tx *store.Tx) error {
		acct, err := tx.Account(cs.sub)
		if errors.Is(err, store.ErrNotFound) {
			acct, err = store.Account{Sub: cs.sub}, nil
		}
		if err != nil {
			return fmt.Errorf("read account: %w", err)
		}
		if acct.SigninDisabled {
			return errSigninDisabled
		}
		gs, err := tx.GrantsBySub(cs.sub)
		if err != nil {
			return fmt.Errorf("grants of subject: %w", err)
		}
		if saved, err = h.putConsentGrant(tx, gs, cs, acct.Held, now); err != nil {
			return err
		}
		if cs.email != "" {
			acct.Email = cs.email
		}
		acct.ReconsentRequired = false
		if err := tx.PutAccount(acct); err != nil {
			return fmt.Errorf("put account: %w", err)
		}
		if !oldSession.IsZero() {
			if err := tx.DeleteSession(oldSession); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("delete previous session: %w", err)
			}
		}
		if err := tx.CreateSession(sess); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Session{}, store.Grant{}, fmt.Errorf("save consent: %w", err)
	}
	return sess, saved, nil
}

// putConsentGrant updates the subject's newest active or reauth_required
// grant (or held grant, when the account is held) or creates one, inside tx,
// with the audit entries of what it did. When the account is held (an
// event or an operator put it on hold) the grant is saved held: a consent
// does not lift a hold.
func (h *Handler) putConsentGrant(tx *store.Tx, gs []store.Grant, cs consent, held bool, now time.Time) (store.Grant, error) {
	status := store.GrantActive
	if held {
		status = store.GrantHeld
	}
	var cur *store.Grant
	for i := len(gs) - 1; i >= 0; i-- {
		st := gs[i].Status
		if st == store.GrantActive || st == store.GrantReauthRequired || (held && st == store.GrantHeld) {
			cur = &gs[i]
			break
		}
	}
	audit := store.AuditEntry{At: now, Sub: cs.sub, Action: "consent", Actor: "user",
		Detail: "scopes: " + strings.Join(cs.scopes, " ")}
	if cur == nil {
		g, err := tx.CreateGrant(store.Grant{
			Sub: cs.sub, Email: cs.email, EmailVerified: cs.emailOK, Scopes: cs.scopes,
			RefreshToken: cs.refresh, AccessToken: cs.access, TokenType: cs.tokenType,
			Expiry: cs.expiry, IDTokenExp: cs.idTokenExpAt,
			Status: status, Reason: "consent", ChangedBy: "user",
		})
		if err != nil {
			return store.Grant{}, fmt.Errorf("create grant: %w", err)
		}
		audit.GrantIDs, audit.Outcome = []string{g.ID}, "grant created"
		if cs.refresh.IsZero() {
			audit.Outcome += " without a refresh token"
		}
		if held {
			audit.Outcome += "; held (the account is on hold)"
		}
		if _, err := tx.AppendAudit(audit); err != nil {
			return store.Grant{}, fmt.Errorf("audit: %w", err)
		}
		return g, nil
	}
	g := *cur
	if !cs.refresh.IsZero() && cs.refresh != g.RefreshToken {
		if !g.RefreshToken.IsZero() {
			job, err := tx.EnqueueOutbox(store.OutboxJob{
				Kind: store.OutboxRevoke, Key: cs.sub, Token: g.RefreshToken, GrantID: g.ID,
				CreatedAt: now, Deadline: now.Add(outboxRevokeDeadline),
			})
			if err != nil {
				return store.Grant{}, fmt.Errorf("queue revocation of the replaced refresh token: %w", err)
			}
			if _, err := tx.AppendAudit(store.AuditEntry{
				At: now, Sub: cs.sub, GrantIDs: []string{g.ID}, Action: "replace-refresh-token", Actor: "user",
				Outcome: "old token queued for upstream revocation",
				Detail:  fmt.Sprintf("outbox job %d", job.ID),
			}); err != nil {
				return store.Grant{}, fmt.Errorf("audit: %w", err)
			}
		}
		g.RefreshToken = cs.refresh
	}
	if cs.email != "" {
		g.Email, g.EmailVerified = cs.email, cs.emailOK
	}
	g.Scopes, g.AccessToken, g.TokenType, g.Expiry = cs.scopes, cs.access, cs.tokenType, cs.expiry
	g.IDTokenExp = cs.idTokenExpAt
	g.Status, g.Reason, g.ChangedBy = status, "consent", "user"
	if err := tx.PutGrant(g); err != nil {
		return store.Grant{}, fmt.Errorf("update grant: %w", err)
	}
	audit.GrantIDs, audit.Outcome = []string{g.ID}, "grant updated"
	if held {
		audit.Outcome += "; held (the account is on hold)"
	}
	if _, err := tx.AppendAudit(audit); err != nil {
		return store.Grant{}, fmt.Errorf("audit: %w", err)
	}
	return g, nil
}

// normScopes splits a space-delimited scope list, drops duplicates and sorts.
func normScopes(s string) []string {
	out := strings.Fields(s)
	slices.Sort(out)
	return slices.Compact(out)
}
