package riscd

import (
	"time"
)

// Account is riscd's view of one Google subject, created on first consent (or
// by an event naming a known subject) and kept as a tombstone after a purge.
type Account struct {
	Sub                      string
	Email                    string
	SessionsRevokedAt        time.Time // apps end their sessions created before this
	SigninDisabled           bool
	Held                     bool
	Review                   bool
	ReconsentRequired        bool
	CredentialChangeRequired bool
	Purged                   bool
	Flags                    []string // free-form markers set by actions ("credential-change", ...)
	CreatedAt                time.Time
	UpdatedAt                time.Time
}

// NeedsAttention reports whether the account's state asks for an
// operator's eye: held, under review, sign-in disabled, re-consent or a
// credential change required, purged, or flagged.
func (a Account) NeedsAttention() bool {
	return a.Held || a.Review || a.SigninDisabled || a.ReconsentRequired || a.CredentialChangeRequired || a.Purged || len(a.Flags) > 0
}

// SessionRule is the one rule by which an app ends its own sessions of a
// Google account. The webhook and GET /v1/subjects/{sub} state it with the
// same fields and values: end_sessions_before, signin_disabled, held.
type SessionRule struct {
	// EndSessionsBefore: sessions created at or before it end (the
	// account's SessionsRevokedAt, moved by set_sessions_revoked_at); zero
	// for none.
	EndSessionsBefore time.Time
	// SigninDisabled: Google disabled the account (disable_signin) or
	// deleted it (purge); every session ends and no new one may start.
	SigninDisabled bool
	// Held: the account or one of its grants is held (hold_grants); every
	// session ends until the hold is released.
	Held bool
}

// SessionRuleOf is the SessionRule of account a and its grants.
func SessionRuleOf(a Account, grants []Grant) SessionRule {
	r := SessionRule{EndSessionsBefore: a.SessionsRevokedAt, SigninDisabled: a.SigninDisabled || a.Purged, Held: a.Held}
	for _, g := range grants {
		if g.Status == GrantHeld {
			r.Held = true
		}
	}
	return r
}

// Ends reports whether an app session created at created must end.
func (r SessionRule) Ends(created time.Time) bool {
	return r.SigninDisabled || r.Held || !r.EndSessionsBefore.IsZero() && !created.After(r.EndSessionsBefore)
}
