package flowweb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riscd/riscd"
)

// liveStatus reports whether a grant still holds tokens riscd may use again.
func liveStatus(s riscd.GrantStatus) bool {
	return s == riscd.GrantActive || s == riscd.GrantHeld || s == riscd.GrantReauthRequired
}

// currentGrant returns the subject's newest live grant and true, or, when
// none is live, its newest grant (possibly the zero Grant) and false. The
// error is a storage failure.
func (h *Handler) currentGrant(ctx context.Context, sub string) (riscd.Grant, bool, error) {
	gs, err := h.store.GrantsBySub(ctx, sub)
	if err != nil {
		return riscd.Grant{}, false, fmt.Errorf("grants of subject: %w", err)
	}
	return pickGrant(gs)
}

// pickGrant chooses from grants listed oldest first.
func pickGrant(gs []riscd.Grant) (riscd.Grant, bool, error) {
	for i := len(gs) - 1; i >= 0; i-- {
		if liveStatus(gs[i].Status) {
			return gs[i], true, nil
		}
	}
	if len(gs) > 0 {
		return gs[len(gs)-1], false, nil
	}
	return riscd.Grant{}, false, nil
}

// consent is a verified answer of the token endpoint.
type consent struct {
	sub, email   string
	emailOK      bool     // the ID token marked email verified
	scopes       []string // granted, sorted
	access       riscd.Secret
	refresh      riscd.Secret // empty when none came
	tokenType    string
	expiry       time.Time
	idTokenExpAt time.Time
}

// saveConsent stores a consent through the grants service, with a new
// session for the browser replacing its previous one (if any), which it
// returns with the grant. On error nothing is written.
func (h *Handler) saveConsent(ctx context.Context, cs consent, oldSession riscd.Secret) (riscd.Session, riscd.Grant, error) {
	now := h.now()
	sess := riscd.Session{
		ID: newSecret(), Sub: cs.sub, Email: cs.email, CSRF: newSecret(),
		CreatedAt: now, ExpiresAt: now.Add(h.cfg.SessionTTL),
	}
	g, err := h.grants.SaveConsent(ctx, riscd.Grant{
		Sub: cs.sub, Email: cs.email, EmailVerified: cs.emailOK, Scopes: cs.scopes,
		RefreshToken: cs.refresh, AccessToken: cs.access, TokenType: cs.tokenType,
		Expiry: cs.expiry, IDTokenExp: cs.idTokenExpAt,
	}, sess, oldSession)
	if err != nil {
		var sd interface{ SigninDisabled() bool }
		if errors.As(err, &sd) && sd.SigninDisabled() {
			return riscd.Session{}, riscd.Grant{}, fmt.Errorf("save consent: %w: %w", errSigninDisabled, err)
		}
		return riscd.Session{}, riscd.Grant{}, fmt.Errorf("save consent: %w", err)
	}
	return sess, g, nil
}

// normScopes splits a space-delimited scope list, drops duplicates and sorts.
func normScopes(s string) []string {
	out := strings.Fields(s)
	slices.Sort(out)
	return slices.Compact(out)
}
