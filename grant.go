package riscd

import (
	"time"
)

// GrantStatus is the lifecycle state of a grant.
type GrantStatus string

// Grant states. Only an active grant's tokens are ever served.
const (
	GrantActive         GrantStatus = "active"          // tokens usable
	GrantHeld           GrantStatus = "held"            // tokens kept encrypted, never served, until released
	GrantRevoked        GrantStatus = "revoked"         // tokens discarded; the user must consent again
	GrantReauthRequired GrantStatus = "reauth_required" // Google demands re-authentication (invalid_rapt)
)

// Grant is one OAuth grant: what a user allowed riscd's client to do, and the
// tokens that prove it. A user (Sub) may hold several grants.
type Grant struct {
	ID    string // assigned by CreateGrant: 24 hex characters, sortable by creation time
	Sub   string // Google's permanent subject identifier
	Email string // display hint only
	// EmailVerified: the ID token that gave Email marked it verified
	// (email_verified). Only such an email may identify the grant's user
	// to another transmitter (GrantsByVerifiedEmail).
	EmailVerified bool
	Scopes        []string
	RefreshToken  Secret
	AccessToken   Secret
	TokenType     string
	Expiry        time.Time // of the access token; zero if unknown
	IDTokenExp    time.Time // optional, informational

	Status      GrantStatus
	Reason      string    // why the status last changed ("invalid_grant", "token-revoked", ...)
	ChangedBy   string    // what changed the status: an event jti, "operator", "user", "refresh"
	CreatedAt   time.Time // set by CreateGrant
	UpdatedAt   time.Time // set by every write
	LastUsedAt  time.Time // last time the token broker served it
	RefreshedAt time.Time // last successful upstream refresh
}

// AccessTokenMargin: an access token that expires within this counts as
// expired (the token broker and the consent pages refresh it first).
const AccessTokenMargin = time.Minute

// HasRefreshToken reports whether riscd holds a refresh token for g. A grant
// without one (the provider issued none: OpenID Connect Core 1.0 §11 lets a
// provider refuse offline access) serves its access token until that
// expires, and then needs a new consent.
func (g Grant) HasRefreshToken() bool { return !g.RefreshToken.IsZero() }

// OutOfTokens reports whether g is active but can no longer serve: it has
// no refresh token, and its access token is missing or expires within
// AccessTokenMargin at now. The token broker answers reconsent_required for
// it, and every report of the grant says so.
func (g Grant) OutOfTokens(now time.Time) bool {
	return g.Status == GrantActive && !g.HasRefreshToken() &&
		(g.AccessToken.IsZero() || (!g.Expiry.IsZero() && !now.Add(AccessTokenMargin).Before(g.Expiry)))
}
