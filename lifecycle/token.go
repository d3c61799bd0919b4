package lifecycle

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riscd/riscd"
)

// Token is an access token as the broker hands it out. It never holds a
// refresh token.
type Token struct {
	// AccessToken is the bearer token; it prints as "[redacted]".
	AccessToken riscd.Secret
	// TokenType is the grant's token type, "Bearer" when Google gave none.
	TokenType string
	// Expiry of the access token; zero when unknown.
	Expiry time.Time
	// Scopes of the grant that serves (a superset of those asked).
	Scopes []string
	// GrantID is the grant that serves.
	GrantID string
}

// Grant states a StateError reports: package riscd's, under
// their names in this package.
const (
	StateHeld              = riscd.StateHeld
	StateRevoked           = riscd.StateRevoked
	StateReconsentRequired = riscd.StateReconsentRequired
	StateReauthRequired    = riscd.StateReauthRequired
)

// Errors of the token broker besides its error types; check them with
// errors.Is.
var (
	// ErrNoRefresh: an access token had to be refreshed but Config has no
	// ClientID, ClientSecret and TokenURL.
	ErrNoRefresh = errors.New("lifecycle: token refresh is not configured")
	// ErrTokenEndpoint is wrapped by every UpstreamError.
	ErrTokenEndpoint = errors.New("lifecycle: token endpoint failed")
)

// ScopeError is the broker's answer when the subject has an active grant
// but none covers the scopes asked. It satisfies the MissingScopes contract
// of companion.TokenBroker.
type ScopeError struct {
	// GrantID is the active grant that covers the most of the scopes asked.
	GrantID string
	// Missing are the scopes asked that it lacks, in the order asked.
	Missing []string
}

// Error names the missing scopes.
func (e *ScopeError) Error() string {
	return "lifecycle: token: grant lacks scopes: " + strings.Join(e.Missing, " ")
}

// MissingScopes returns e.Missing.
func (e *ScopeError) MissingScopes() []string { return e.Missing }

// StateError is the broker's answer when the grant that would serve cannot:
// it is held, revoked or needs re-authentication, or the account must
// consent again. It satisfies the GrantState contract of companion.TokenBroker.
type StateError struct {
	// GrantID is the grant concerned; "" when the account decided.
	GrantID string
	// State is one of StateHeld, StateRevoked, StateReconsentRequired,
	// StateReauthRequired.
	State string
	// Reason is what put it there: the grant's Reason ("invalid_grant",
	// "account-disabled/hijacking", an event type, ...).
	Reason string
}

// Error names the state and reason.
func (e *StateError) Error() string {
	return fmt.Sprintf("lifecycle: token: grant is %s (%s)", e.State, e.Reason)
}

// GrantState returns e.State and e.Reason.
func (e *StateError) GrantState() (state, reason string) { return e.State, e.Reason }

// UpstreamError is the broker's answer when an access token had to be
// refreshed, the token endpoint failed, and no valid access token is left.
// It wraps ErrTokenEndpoint and never the endpoint's answer body. Temporary
// reports true for failures that retrying later may cure (network errors,
// timeouts, HTTP 408, 429 and 5xx, an answer without a token), false for
// refusals a retry will not change (invalid_client and other 4xx: riscd's
// configuration is wrong).
type UpstreamError struct {
	GrantID string
	// Status is the HTTP status the endpoint answered; 0 when none came.
	Status int
	// Code is the OAuth error code of the answer, if any ("invalid_client").
	Code string
	// RetryAt is when the broker will next try the endpoint for this grant:
	// until then callers get this error (or the still-valid access token)
	// without a new upstream call.
	RetryAt time.Time

	temporary bool
	what      string // safe description: status and code, or the network failure
}

// Error describes the failure without the endpoint's answer body.
func (e *UpstreamError) Error() string {
	return "lifecycle: token endpoint: " + e.what
}

// Unwrap returns ErrTokenEndpoint.
func (e *UpstreamError) Unwrap() error { return ErrTokenEndpoint }

// Temporary reports whether retrying later may succeed.
func (e *UpstreamError) Temporary() bool { return e.temporary }
