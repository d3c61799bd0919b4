// Package client is the Go package for apps that run beside riscd. It talks
// to riscd's companion API on the internal listener with the app token
// (internal.app_token_file) and receives riscd's webhooks.
//
//   - Client.TokenSource is an oauth2.TokenSource of a user's access
//     tokens, served by POST /v1/token, for Google's client libraries
//     (option.WithTokenSource) or oauth2.NewClient. riscd keeps the refresh
//     token; the app never sees one.
//   - Client.Connect and Client.ConnectResult open a consent session for an
//     app user (POST /v1/connect) and read its outcome
//     (GET /v1/connect/{id}).
//   - Client.SessionGuard is net/http middleware that ends the app's
//     sessions that riscd's account state condemns.
//   - WebhookHandler verifies riscd's Standard Webhooks and hands typed
//     Events to the app.
//
// # Errors
//
// POST /v1/token's refusals are typed: errors.Is(err, ErrNoGrant) (404
// no_grant: the user must consent), *ScopeError (403 missing_scopes, with
// the missing scopes; errors.Is ErrMissingScopes), *UnavailableError (409
// grant_unavailable, with the grant's State: held, revoked,
// reconsent_required, reauth_required; errors.Is ErrGrantUnavailable).
// Every other refusal is an *APIError with riscd's status and error code;
// Temporary reports the 503 riscd answers while Google's token endpoint
// fails. They pass unchanged through oauth2.Transport and net/http, so
// errors.As finds them in the error of a Google API call too. No error
// text holds a token.
//
// # Ending sessions
//
// SessionGuard asks GET /v1/subjects/{sub} about the user of each request's
// session, at most once per CacheTTL (30 s by default) per subject, and
// again at once after a webhook about that subject reaches a
// WebhookHandler whose WebhookConfig.Sessions is the guard. riscd states
// one decision, with the same fields and values in every webhook (Event)
// and in GET /v1/subjects/{sub} (Subject): end_sessions_before,
// signin_disabled and held. A session created at C ends when, in this
// order:
//
//  1. the account is purged (EndPurged; riscd also says signin_disabled);
//  2. signin_disabled: Google disabled or deleted the account
//     (EndSigninDisabled);
//  3. held: the account or one of its grants is held (EndHeld);
//  4. C is not after end_sessions_before, the later of riscd's answer's
//     and the latest webhook's about the subject (EndSessionsRevoked).
//
// Subject.EndsSession and Event.EndsSession apply this rule. Rules 1-3 end
// new sessions as well until riscd lifts the state (e.g. on
// account-enabled). A subject riscd has never seen (404) keeps its
// sessions, unless rule 4's webhook time condemns them. Flags that ask the
// user for something but leave sign-in alone (review,
// reconsent_required, credential_change_required, a revoked or
// reauth_required grant, as tokens-revoked leaves them) end nothing: POST
// /v1/token refuses the grant instead. The webhook times are kept in memory
// only; riscd's store keeps the durable record. When riscd cannot be
// asked, the request is served (or answered 503 with FailClosed) and
// OnError is told.
//
// # Webhooks
//
// WebhookHandler accepts a POST whose webhook-signature lists a
// "v1,<base64 HMAC-SHA256>" of "<webhook-id>.<webhook-timestamp>.<body>"
// under one of the configured secrets (several during a rotation), and
// whose webhook-timestamp is within the tolerance (5 minutes by default)
// of now; see https://www.standardwebhooks.com. riscd keeps a message's
// webhook-id across retries: deduplicate on Event.ID.
package client
