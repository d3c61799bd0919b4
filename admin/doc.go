// Package admin is riscd's internal listener: the admin API operators and the
// riscd CLI use, Prometheus metrics and the health probes,
// and what the companion API (package companion, which the app uses) shares
// with them: the request log and request counter (Server.API), the one
// mapping of errors to JSON answers (Error), the bearer token check
// (Bearer, TokenDigest) and the subject view both APIs answer (Subject).
// Server.Register mounts this package's routes; cmd/riscd mounts the
// companion API's and the admin page's (package adminpage) beside them. The
// admin page renders what Service, the logic behind the API's routes, reads
// and does; its errors are answered as the API's are classified (Classify). The OpenAPI 3 document of the admin and
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
