// Package admin is riscd's internal listener: the admin API operators and the
// riscd CLI use, the admin page, Prometheus metrics and the health probes,
// and what the companion API (package companion, which the app uses) shares
// with them: the request log and request counter (Server.API), the one
// mapping of errors to JSON answers (Error), the bearer token check
// (Bearer, TokenDigest) and the subject view both APIs answer (Subject).
// Server.Register mounts this package's routes; cmd/riscd mounts the
// companion API's beside them. The OpenAPI 3 document of the admin and
// companion APIs (openapi.json in this folder) is embedded and served at
// /admin/openapi.json.
//
// The routes:
//
//	GET    /admin/grants                  grants, newest first: sub, status, feature, scope filters; cursor paging
//	GET    /admin/grants/:id              one grant with the audit entries that name it
//	DELETE /admin/grants/:id              revoke upstream through the outbox, then discard (Operator)
//	GET    /admin/accounts/:sub           an account's state, grants and timeline of events and actions
//	POST   /admin/accounts/:sub/release   lift a hold (Operator)
//	GET    /admin/events                  received events with their processing status; cursor paging
//	GET    /admin/events/:id              one event
//	POST   /admin/events/:id/retry        return a parked event to the dispatcher
//	GET    /admin/audit                   the audit log, newest first; cursor paging
//	GET    /admin/outbox                  pending upstream revocations and webhooks with their age; ?status=failed: those given up on
//	POST   /admin/outbox/:id/retry        start a failed outbox job over (Operator)
//	GET    /admin/openapi.json            the OpenAPI document
//	GET    /admin/ui/...                  the admin page (HTML; see below)
//	GET    /metrics                       Prometheus exposition (no token)
//	GET    /healthz                       the process is alive (no token)
//	GET    /readyz                        the store answers, the inbox is moving, Config.Ready passes (no token)
//
// # Authentication
//
// /admin routes take "Authorization: Bearer <admin token>" (the companion
// API's /v1 routes take the app token or the admin token). Tokens are
// compared in constant time. A missing or wrong token is answered 401 with
// a WWW-Authenticate: Bearer challenge. Without an admin token the admin
// API answers 503 (admin_disabled).
//
// # The admin page
//
// /admin/ui is a plain HTML view of the same data for a browser
// (html/template, one embedded stylesheet, no script, nothing fetched from
// elsewhere): grants with filters and a grant page with a revoke button;
// held and flagged accounts and an account page with its timeline and a
// Release button; events, parked ones with a retry button, and an event
// page with its redacted claims; the outbox, failed jobs with a retry
// button; the audit log; the Google stream (Config.Stream and the stream
// metrics' last values). Its routes are not part of the JSON API and not
// in the OpenAPI document:
//
//	GET  /admin/ui/login                   sign-in form; POST it with the admin token
//	POST /admin/ui/logout                  sign out
//	GET  /admin/ui/grants[/:id]            grants, one grant
//	POST /admin/ui/grants/:id/revoke       revoke (confirm=yes required)
//	GET  /admin/ui/accounts[/:sub]         held and flagged accounts, one account
//	POST /admin/ui/accounts/:sub/release   lift a hold
//	GET  /admin/ui/events[/:id]            events (?status=parked), one event
//	POST /admin/ui/events/:id/retry        retry a parked event
//	GET  /admin/ui/outbox                  pending jobs (?status=failed: failed ones)
//	POST /admin/ui/outbox/:id/retry        retry a failed job
//	GET  /admin/ui/audit, /admin/ui/stream
//
// Signing in compares the admin token in constant time and starts a
// server-side session (in memory, Config.UISessionTTL) named by a random id
// in an HttpOnly, SameSite=Strict cookie scoped to /admin/ui, Secure over
// TLS or with Config.UISecureCookies. Sign-ins are limited per client
// address (5 at once, then one every 12 seconds; a success forgets the
// address), the attempt taken when it is judged, after the body is read;
// behind Config.TrustedProxies the client is the one X-Forwarded-For names.
// Without a session every page redirects to
// the sign-in form and every action answers 403; each action also needs
// the session's CSRF token (compared in constant time) and is refused when
// Origin or Sec-Fetch-Site name another site (net/http.CrossOriginProtection:
// Sec-Fetch-Site decides, else Origin against Host; "Origin: null" is
// another site). Pages carry a strict
// Content-Security-Policy, X-Frame-Options: DENY and Cache-Control:
// no-store, show tokens only as fingerprints, and pass every value through
// html/template's escaping. Actions go through the same code as the API's
// (Operator, the retry transaction) and are audited the same way.
//
// # Answers
//
// Every API answer is JSON. Errors are {"error": code, "detail": ...}, where code
// is one of the Code* constants (or the companion API's) and detail a human
// sentence or, for a few codes, an object (the missing scopes, a grant's
// state). One function maps errors to answers, for this package's routes
// and the companion API's; only unexpected failures are logged at error level, and
// no answer carries a store error's text, a token, a token identifier or a
// key. Grants show a short fingerprint of their refresh token instead of the
// token, and events show their decoded claims with every token identifier
// replaced by its algorithm and a fingerprint.
//
// # Logging and metrics
//
// Each request is logged once, with a request id (the caller's X-Request-Id
// when it is well formed, else a random one, echoed in the answer), the route
// template, status and duration; never a header, a body or a token.
// Metrics are registered on a Prometheus registry of riscd's own, never the
// global one. Gauges that live in the store are read at scrape time; counters
// and histograms that other packages feed are reached through the methods of
// *Metrics (see Server.Metrics).
package admin
