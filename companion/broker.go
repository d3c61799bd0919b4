package companion

import (
	"context"
	"time"

	"github.com/riscd/riscd"
)

// TokenBroker hands out access tokens for POST /v1/token. The lifecycle
// package implements it (refreshing ahead of expiry, one upstream refresh
// per grant at a time); cmd/riscd passes it in Config.Broker.
//
// Token returns an access token of an active grant of sub whose scopes
// include every one of scopes, refreshed first when it is expired or about
// to be. It never returns a refresh token. Its errors say why there is
// none, and are recognised by behaviour, so the implementing package need
// not import this one:
//
//   - an error matching riscd.ErrNotFound (errors.Is): riscd holds no grant
//     for sub (404 no_grant);
//   - an error with a method MissingScopes() []string (errors.As;
//     lifecycle.ScopeError is one): sub has an active grant but none
//     covers scopes; the method returns the scopes missing from the grant
//     that covers the most (403 missing_scopes);
//   - an error with a method GrantState() (state, reason string) (errors.As;
//     lifecycle.StateError is one): the grant that would serve is not
//     usable: state is lifecycle.StateHeld, StateRevoked,
//     StateReconsentRequired or StateReauthRequired,
//     reason the event or cause behind it, e.g. "hijacking" (409
//     grant_unavailable);
//   - an error with a method Temporary() bool returning true: the upstream
//     token endpoint failed and no valid access token is left; the app
//     should retry later (503 upstream_unavailable);
//   - ctx's error when the request ended or TokenTimeout passed (503);
//   - anything else is a failure of riscd (500, logged).
//
// Error texts are logged, never shown; they must not carry tokens.
type TokenBroker interface {
	Token(ctx context.Context, sub string, scopes []string) (Token, error)
}

// Token is an access token as POST /v1/token returns it.
type Token struct {
	AccessToken riscd.Secret
	// TokenType is "Bearer" when empty.
	TokenType string
	// Expiry of the access token; zero when unknown.
	Expiry time.Time
	// Scopes the token carries (the grant's scopes, a superset of those asked).
	Scopes []string
}
