// Package companion is riscd's companion API, the app's side of the
// internal listener: the access tokens riscd keeps fresh for the app, and
// the account state an app needs to end its own sessions. cmd/riscd mounts
// it beside the admin API (package admin), whose request log, JSON error
// answers, request counter and OpenAPI document it shares.
//
// The routes:
//
//	POST   /v1/token                      a fresh access token for a subject and scopes (TokenBroker)
//	GET    /v1/subjects/:sub              the account state an app needs to end its own sessions
//
// # Authentication
//
// Both routes take "Authorization: Bearer <token>" with the app token or
// the admin token, compared in constant time. A missing or wrong token is
// answered 401 with a WWW-Authenticate: Bearer challenge; without either
// token the API answers 503 (companion_disabled).
//
// # Answers
//
// Answers are JSON. POST /v1/token answers access_token, token_type,
// expiry and scopes, never a refresh token. Its refusals are the codes of
// this package (no_grant, missing_scopes with the missing scopes,
// grant_unavailable with the grant's state and reason, upstream_unavailable)
// mapped from the TokenBroker's errors in one function; every other error
// goes through the admin package's one mapping. GET /v1/subjects/{sub}
// answers admin.Subject: the account's flags and its grants, never an
// email or a token.
package companion
