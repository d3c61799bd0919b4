package riscd

import (
	"encoding/json"
	"time"
)

// OutboxKind names what an outbox job does.
type OutboxKind string

// Outbox kinds.
const (
	OutboxRevoke  OutboxKind = "revoke"  // call the upstream revoke endpoint with Token
	OutboxWebhook OutboxKind = "webhook" // POST Payload to the app's webhook URL
)

// OutboxStatus is the state of an outbox job.
type OutboxStatus string

// Outbox states.
const (
	OutboxPending OutboxStatus = "pending"
	OutboxDone    OutboxStatus = "done"
	OutboxFailed  OutboxStatus = "failed" // gave up (deadline passed)
)

// OutboxJob is a durable piece of work done after the transaction that queued
// it: an upstream revocation or a webhook delivery.
type OutboxJob struct {
	ID            uint64 // assigned by EnqueueOutbox; increasing
	Kind          OutboxKind
	Key           string // ordering key: jobs with the same key run in ID order (a subject)
	Token         Secret // revoke: the token to revoke (encrypted at rest)
	Payload       json.RawMessage
	GrantID       string
	CreatedAt     time.Time
	Deadline      time.Time // give up after this
	Status        OutboxStatus
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
	DoneAt        time.Time // when it ended, done or failed
}
