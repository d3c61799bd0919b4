// Package companion is riscd's companion API, the app's side of the
// internal listener: the access tokens riscd keeps fresh for the app, and
// the account state an app needs to end its own sessions. cmd/riscd mounts
// it beside the admin API (package admin), whose request log, JSON error
// answers, request counter and OpenAPI document it shares.
//
// The routes:
//
//	POST   /v1/token                      a fresh access token for a subject (or an app user) and scopes or features (TokenBroker)
//	GET    /v1/subjects/:sub              the account state an app needs to end its own sessions
//	POST   /v1/connect                    a connect session: the link that sends one of the app's users through the consent
//	GET    /v1/connect/:id                its status and result: the account and scopes the user granted
//	GET    /v1/users/:app_user            the accounts linked to an app user, each as /v1/subjects gives it
//	DELETE /v1/users/:app_user/links/:sub unlink them (?revoke=true also revokes the account's grant)
//
// A connect session's link leads to flowweb's /connect/{id} on the public
// listener; its id, which comes back to the app in the return URL, is not a
// credential (reading the result needs the token), and the link's one-time
// start token is kept only as a digest.
//
// # Authentication
//
// Every route takes "Authorization: Bearer <token>" with the app token or
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
// goes through the admin package's one mapping. POST /v1/token takes
// scope URIs, feature names (Config.Features) or both; an unknown feature
// is a 400 naming it. GET /v1/subjects/{sub} answers admin.Subject: the
// account's flags, the session decision (end_sessions_before,
// signin_disabled, held) with the values riscd's webhooks carry, and its
// grants, never an email or a token.
package companion
