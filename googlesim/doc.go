// Package googlesim is a local stand-in for Google's OAuth 2.0 and
// Cross-Account Protection (RISC) services, for riscd's tests and its demo.
//
// A Server plays, on loopback only, the parts of Google that riscd talks to:
//
//   - the authorization endpoint (/o/oauth2/v2/auth) with a real HTML consent
//     page: an account chooser, one checkbox per requested scope, Allow and
//     Deny, login_hint, prompt, state, PKCE, access_type=offline,
//     include_granted_scopes, exact redirect_uri matching, and Google's error
//     codes as ?error= redirects or, when a redirect would be unsafe, as an
//     error page;
//   - the token endpoint (/token) for the authorization_code and
//     refresh_token grants, with client_secret_post and client_secret_basic,
//     RS256 ID tokens and Google-shaped refresh tokens (1//...);
//   - the revocation endpoint (/revoke), which authenticates the client as
//     the token endpoint does and refuses a request without its credentials
//     (401 invalid_client, as RFC 7009 servers do): revoking any token of a
//     grant ends the whole grant;
//   - the ID-token and SET keys (/oauth2/v3/certs), the OpenID and RISC
//     discovery documents, a userinfo endpoint and a fake Drive file list
//     (/drive/v3/files) for a feature call;
//   - a Transmitter that signs Google-format security event tokens for every
//     event Google sends and POSTs them to a receiver, with options that make
//     malformed and hostile tokens for the receiver's tests.
//
// Tests steer it with switches (SetFault, SetAuthError, SetTokenError,
// SetIDTokenFault, ExpireAccessTokens, RotateKeys) and read it back with
// introspection (Stats, Grant, IsRevoked). Consent drives the consent page
// with a plain http.Client, as a browser would.
//
// googlesim imports no other riscd package. Its state lives in memory and
// dies with the Server. Secrets it issues (codes, tokens, keys) never reach
// its logs or its error strings.
//
// Errors: New reports every configuration problem at once, wrapped around
// ErrInvalidConfig; Start refuses a non-loopback address with ErrNotLoopback
// and a second start with ErrStarted; SetFault answers ErrUnknownEndpoint;
// signing a SET before the server knows its issuer answers ErrNoIssuer;
// RevokeGrant of an unknown user answers ErrUnknownUser.
// Check them with errors.Is.
package googlesim
