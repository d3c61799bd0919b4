// Package flowweb is riscd's consent flow: Google's OAuth 2.0 web-server flow
// served as Echo v4 pages on the public listener. Config.Provider
// ProviderOIDC points it at a standard OpenID provider instead (Discover
// reads its discovery document): offline_access with prompt=consent instead
// of access_type=offline, the provider's ID-token algorithms from an
// asymmetric allow-list, prompt=login, and the provider named on the pages.
//
// The routes, registered together by Handler.Register:
//
//	GET  /                 who is signed in, which features their grant enables, and the actions
//	GET  /authorize        start a consent: a server-side flow record, then a 302 to the authorization server
//	GET  /oauth2callback   finish it: state, code exchange with PKCE, ID-token checks, the grant saved, a session
//	GET  /features/:name   call a feature's test API with the stored grant (refreshing it when due)
//	POST /revoke           revoke the grant upstream and discard its tokens
//	POST /clear            end riscd's own browser session only
//	GET  /connect/:id      start a connect session (Config.Connect): the app's user goes through the consent
//	                       and comes back to the app's return_to with connect_id and status
//	GET  /static/riscd.css the one stylesheet
//
// Every route sits below the path of Config.PublicURL, so a public URL of
// https://example.com/riscd serves /riscd/authorize and so on.
//
// Grants are kept in the store, encrypted, keyed by the ID token's sub.
// Saving a consent, getting a grant's access token (refreshed when due) and
// revoking a user's grants go through Config.Grants, riscd's grants service
// (package lifecycle), so flowweb never writes or refreshes a grant itself. The
// browser holds only two opaque cookies: riscd_flow (one authorization request
// in progress, single use, at most FlowTTL old) and riscd_session (riscd's own
// server-side session, which a security event can end). Tokens, codes, the
// client secret, PKCE verifiers and state values never reach a log line, an
// error string or a page.
//
// GET /authorize writes a flow record and GET /oauth2callback with a live
// flow calls the token endpoint with the client secret, so both are
// rate-limited per client address and for all clients together
// (Config.ConsentPerMinute, ConsentPerMinuteTotal; 429 past them), and at
// most Config.MaxPendingFlows flows are started within one FlowTTL (503
// past it). Sweep removes abandoned flows in small transactions and skips,
// logs and counts a record it cannot decode.
//
// CheckRedirectURI applies Google's rules for an OAuth client's redirect
// URIs to the URI the flow is served at; riscd config check reports a
// public_url that breaks them.
//
// Errors: New reports every configuration problem at once, wrapped around
// ErrInvalidConfig. Handlers answer with an HTML page for every failure and
// log only what is unexpected (store failures, an unreachable upstream).
package flowweb
