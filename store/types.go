package store

import (
	"encoding/json"
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

// Session is a browser session of riscd's own consent pages. The ID is a
// bearer secret: the store keeps only its SHA-256.
type Session struct {
	ID        Secret
	Sub       string
	Email     string
	CSRF      Secret    // per-session token for POST forms (encrypted at rest)
	CreatedAt time.Time // now if zero at CreateSession
	ExpiresAt time.Time // zero: never; at or after it, Session reports ErrNotFound
}

// Flow is the server-side record of one authorization request in progress,
// referenced by the browser's flow cookie and by the state parameter. It is
// single use: TakeFlow deletes it as it returns it.
type Flow struct {
	ID           Secret // cookie value; the store keeps only its SHA-256
	State        Secret // encrypted at rest, as are PKCEVerifier and Nonce
	PKCEVerifier Secret
	Nonce        Secret
	Features     []string
	Scopes       []string // requested
	Sub          string   // signed-in subject when the flow started, if any
	CreatedAt    time.Time
}

// InboxStatus is the processing state of a received SET.
type InboxStatus string

// Inbox states.
const (
	InboxPending InboxStatus = "pending"
	InboxDone    InboxStatus = "done"
	InboxParked  InboxStatus = "parked" // gave up after the configured attempts; an operator may retry
)

// InboxEntry is one verified security event token, committed before the
// receiver answers 202. (Iss, JTI) is unique.
type InboxEntry struct {
	ID          uint64 // arrival order, assigned by PutInbox
	Transmitter string
	Iss         string
	JTI         string
	Subject     string          // normalised subject key for per-subject ordering (e.g. "iss|sub")
	Types       []string        // event-type URIs in the SET
	Raw         string          // the compact JWS as received
	Claims      json.RawMessage // the verified payload (stored compacted)
	ReceivedAt  time.Time       // now if zero at PutInbox

	Status        InboxStatus
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
	DoneAt        time.Time
}

// OutboxKind names what an outbox job does.
type OutboxKind string

// Outbox kinds.
const (
	OutboxRevoke  OutboxKind = "revoke"  // call the upstream revoke endpoint with Token
	OutboxWebhook OutboxKind = "webhook" // POST Payload to the app's webhook URL
)

// OutboxStatus is the state of an outbox job.
type OutboxStatus string

// Outbox states.
const (
	OutboxPending OutboxStatus = "pending"
	OutboxDone    OutboxStatus = "done"
	OutboxFailed  OutboxStatus = "failed" // gave up (deadline passed)
)

// OutboxJob is a durable piece of work done after the transaction that queued
// it: an upstream revocation or a webhook delivery.
type OutboxJob struct {
	ID            uint64 // assigned by EnqueueOutbox; increasing
	Kind          OutboxKind
	Key           string // ordering key: jobs with the same key run in ID order (a subject)
	Token         Secret // revoke: the token to revoke (encrypted at rest)
	Payload       json.RawMessage
	GrantID       string
	CreatedAt     time.Time
	Deadline      time.Time // give up after this
	Status        OutboxStatus
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
	DoneAt        time.Time // when it ended, done or failed
}

// AuditEntry records one action taken (or, in dry-run, that would have been
// taken) and its outcome.
type AuditEntry struct {
	ID          uint64 // assigned by AppendAudit; increasing
	At          time.Time
	Transmitter string
	EventJTI    string
	EventType   string
	Sub         string
	GrantIDs    []string
	Action      string
	Outcome     string
	Detail      string
	Actor       string // "event", "operator", "user", "refresher"
	DryRun      bool
}
