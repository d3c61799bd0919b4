// Package lifecycle is what riscd does about security events: it turns each
// delivered event into actions on grants, accounts and sessions, records
// them in the audit log, and carries out the work that must reach another
// server (Google's revoke endpoint, the app's webhook) from a durable outbox.
//
// # Actions
//
// An action is one name of a small closed vocabulary (ActionEndSessions,
// ActionRevokeGrants, ActionHoldGrants, ...). Each event type maps to a list
// of actions: DefaultActions gives the built-in table, and Config.Actions
// replaces the list of any entry. The account-disabled event is looked up by
// reason first ("account-disabled/hijacking", "account-disabled/bulk-account",
// "account-disabled/none", "account-disabled/other"), then as
// "account-disabled"; event types riscd does not know use "unknown".
// Whatever the list order, actions run in the vocabulary's fixed order
// (Actions lists it), so that an upstream revocation reads a token before
// revoking the grant discards it.
//
// Everything one event does (its actions, their audit entries, its webhook
// and upstream revocation jobs, and a store.Mark naming the event) commits in
// one store transaction. A redelivered event finds its mark and does
// nothing, so it neither acts twice nor sends a second webhook. In dry run
// the actions run in a transaction that is rolled back, and only their audit
// entries, flagged DryRun, are kept: they say exactly what would have been
// done.
//
// Session actions are scoped by the event's time (events.SET.OccurredAt, never
// later than now), not by the time riscd handles it. An event about a subject
// whose issuer is not trusted for the transmitter that sent it, or about a
// subject riscd has never seen, is audited and otherwise ignored.
//
// # Other transmitters
//
// A transmitter other than Google (Config.Transmitters) names users by its
// own identifiers. Its subject mappings say which of them name an account of
// riscd's: SubjectIssSub (an iss_sub subject of the transmitter's own
// issuer, its sub being the account's) and SubjectEmail (an email subject
// equal, ignoring case, to a grant's email that the ID token marked
// verified), tried on the subject, a complex subject's user facet and
// each alias. Its own action table starts empty: an event without an entry
// gets ActionNotify only. An event whose subject names no account is still
// recorded and forwarded: only ActionNotify runs, its webhook's sub is
// empty and its subject member carries the subject as received.
//
// # Outbox
//
// RunOutbox works through the store's outbox: jobs of one key (a subject's
// webhooks, or a subject's upstream revocations) run strictly in ID order,
// a failing job holding back only the later jobs of its key; failures are
// retried with exponential backoff and jitter until the job's deadline
// (Config.OutboxMaxAge after it was queued), after which the job is marked
// failed and audited. Delivery is at least once. A new RunOutbox over the same
// store resumes whatever is pending. The outbox is a source of a
// workqueue.Queue, as the inbox dispatcher is.
//
// Webhooks follow Standard Webhooks (https://www.standardwebhooks.com): the
// headers webhook-id (the same on every retry of one message),
// webhook-timestamp and webhook-signature ("v1," and base64 of HMAC-SHA256
// over "id.timestamp.body", keyed with the decoded secret). The body is a
// WebhookPayload. No token ever appears in a webhook, a log line, an error or
// an audit entry.
//
// # Grants service
//
// Besides security events, the Lifecycle owns what else happens to a
// grant: a consent's result is saved by SaveConsent (a grant created, or
// the current one updated, a refresh token it replaces queued for upstream
// revocation), the broker below refreshes it, a user's revoke is sent to
// the revoke endpoint at once and the user's grants discarded
// (RevokeUserGrants), and an operator discards one (DiscardGrant, the
// upstream revocation queued). flowweb and admin call these through
// interfaces of their own, over store types.
//
// # Token broker
//
// Token hands an app (through the companion API) an access token of a
// subject's active grant covering the scopes asked; GrantToken does the same
// for one grant, for riscd's own calls. A stored token valid for more than
// a minute is served from the store as is; otherwise it is refreshed through
// Config.TokenURL, one upstream refresh per grant at a time however many
// callers ask (they all get its result), and the new token (and a new
// refresh token, if one comes) is stored before anyone gets it. A refresh
// token is never returned. When the endpoint answers invalid_grant the grant
// is revoked (reason invalid_grant), its tokens discarded and the account
// marked reconsent_required; with error_subtype invalid_rapt the grant
// becomes reauth_required, tokens kept; either way in one transaction with
// audit entries and a webhook ("refresh:invalid_grant",
// "refresh:invalid_rapt"). Network failures, timeouts and 5xx start a
// per-grant backoff during which no upstream call is made: callers get the
// stored token while it has not expired, else an *UpstreamError whose
// Temporary is true.
//
// RunRefresher refreshes ahead of expiry (Config.RefreshLeadTime, with
// jitter) the grants served within Config.RecentUseWindow, from an in-memory
// schedule the broker feeds, and writes their LastUsedAt (at most once a
// minute per grant, in batches). With Config.KeepAliveInterval set it also
// walks the store slowly, a page at a time, refreshing idle grants so their
// refresh tokens never reach Google's six-month inactivity expiry.
package lifecycle
