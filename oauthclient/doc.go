// Package oauthclient is how riscd presents itself as a confidential OAuth
// 2.0 client upstream: the client authentication it uses at the token
// endpoint (AuthStyle) and the one client that calls the token revocation
// endpoint (Revoker).
//
// RFC 7009 §2.1 has a confidential client authenticate its revocation
// requests as it does at the token endpoint, so a Revoker sends the client
// ID and secret in the same way as riscd's token requests: HTTP Basic by
// default (RFC 6749 §2.3.1, each part form-urlencoded first), or as form
// fields (client_secret_post). Google's revoke endpoint takes the token as a
// form field and ignores what it does not need; standard servers (zitadel,
// node oidc-provider, Ory Hydra) refuse a revocation without the client's
// credentials.
//
// cmd/riscd builds one Revoker and gives it to flowweb (a user's POST
// /revoke) and to lifecycle (the outbox's revoke jobs: events, an
// operator's discard, a replaced refresh token), so every revocation is
// made the same way. No error and no log line holds a token or the secret.
package oauthclient
