package boltdb

// Bucket names. Every bucket is created with the store; indexes are kept in
// the same transaction as the records they point to.
const (
	bucketMeta = "meta" // format marker, schema version, creation time
	bucketKeys = "keys" // key id -> check value sealed under that key

	bucketGrants         = "grants"              // grant key (12 bytes) -> record.Grant
	bucketGrantsBySub    = "grants.by_sub"       // len|sub|grant key -> ""
	bucketGrantsByDigest = "grants.by_rt_digest" // SHA-512(SHA-512(rt)) -> grant key
	bucketGrantsByPrefix = "grants.by_rt_prefix" // SHA-256(rt[:16])|grant key -> ""
	bucketGrantsByStatus = "grants.by_status"    // len|status|grant key -> "" (schema 3)
	bucketGrantsByEmail  = "grants.by_email"     // len|lower-cased verified email|grant key -> "" (schema 4)

	bucketAccounts          = "accounts"           // sub -> accountRecord
	bucketAccountsAttention = "accounts.attention" // sub -> "", for each account that NeedsAttention (schema 3)

	bucketSessions      = "sessions"        // SHA-256(id) -> record.Session
	bucketSessionsBySub = "sessions.by_sub" // len|sub|created (8)|SHA-256(id) -> ""

	bucketFlows = "flows" // SHA-256(id) -> record.Flow

	bucketInbox          = "inbox"            // id (8) -> record.Inbox
	bucketInboxByJTI     = "inbox.by_jti"     // SHA-256(len|iss|jti) -> id
	bucketInboxByStatus  = "inbox.by_status"  // len|status|id -> ""
	bucketInboxBySubject = "inbox.by_subject" // len|subject|id -> ""

	bucketOutbox        = "outbox"         // id (8) -> record.Outbox
	bucketOutboxPending = "outbox.pending" // id -> ""
	bucketOutboxFailed  = "outbox.failed"  // id -> "" (schema 3)

	bucketAudit      = "audit"        // id (8) -> auditRecord
	bucketAuditBySub = "audit.by_sub" // len|sub|id -> ""
)

// bucketNames lists every bucket a store holds, created with the store and
// (for buckets added later within the same schema) at open.
func bucketNames() []string {
	return []string{
		bucketMeta, bucketKeys,
		bucketGrants, bucketGrantsBySub, bucketGrantsByDigest, bucketGrantsByPrefix, bucketGrantsByStatus,
		bucketGrantsByEmail,
		bucketAccounts, bucketAccountsAttention,
		bucketSessions, bucketSessionsBySub,
		bucketFlows,
		bucketInbox, bucketInboxByJTI, bucketInboxByStatus, bucketInboxBySubject,
		bucketOutbox, bucketOutboxPending, bucketOutboxFailed,
		bucketAudit, bucketAuditBySub,
		bucketMarks,
		bucketAdminSessions,
		bucketConnect, bucketLinksByAppUser, bucketLinksBySub,
	}
}

// fillPercent is how full bbolt fills a page when it splits one. Buckets
// keyed by increasing ids grow at the end only, so their pages are split
// full; so does each status's range of grants.by_status, keyed by grant
// keys that increase with creation time. Those whose records are rewritten
// (grants, inbox, outbox) keep a little room. Indexes keyed by hashes take random inserts; bbolt's default
// of one half wastes space when they are filled in large transactions.
func fillPercent(bucket string) float64 {
	switch bucket {
	case bucketAudit, bucketOutboxPending, bucketGrantsByStatus:
		return 1.0
	case bucketGrants, bucketInbox, bucketOutbox:
		return 0.95
	default:
		return 0.5
	}
}
