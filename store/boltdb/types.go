package boltdb

import "github.com/riscd/riscd"

// The domain types are package riscd's; these are their names in package
// store, the same types, kept so callers compile unchanged while they move
// over to package riscd.
type (
	// Secret is riscd.Secret.
	Secret = riscd.Secret
	// GrantStatus is riscd.GrantStatus.
	GrantStatus = riscd.GrantStatus
	// Grant is riscd.Grant.
	Grant = riscd.Grant
	// Account is riscd.Account.
	Account = riscd.Account
	// Session is riscd.Session.
	Session = riscd.Session
	// Flow is riscd.Flow.
	Flow = riscd.Flow
	// InboxStatus is riscd.InboxStatus.
	InboxStatus = riscd.InboxStatus
	// InboxEntry is riscd.InboxEntry.
	InboxEntry = riscd.InboxEntry
	// OutboxKind is riscd.OutboxKind.
	OutboxKind = riscd.OutboxKind
	// OutboxStatus is riscd.OutboxStatus.
	OutboxStatus = riscd.OutboxStatus
	// OutboxJob is riscd.OutboxJob.
	OutboxJob = riscd.OutboxJob
	// AuditEntry is riscd.AuditEntry.
	AuditEntry = riscd.AuditEntry
)

// Package riscd's constants under their names in package store.
const (
	GrantActive         = riscd.GrantActive
	GrantHeld           = riscd.GrantHeld
	GrantRevoked        = riscd.GrantRevoked
	GrantReauthRequired = riscd.GrantReauthRequired

	AccessTokenMargin = riscd.AccessTokenMargin

	InboxPending = riscd.InboxPending
	InboxDone    = riscd.InboxDone
	InboxParked  = riscd.InboxParked

	OutboxRevoke  = riscd.OutboxRevoke
	OutboxWebhook = riscd.OutboxWebhook

	OutboxPending = riscd.OutboxPending
	OutboxDone    = riscd.OutboxDone
	OutboxFailed  = riscd.OutboxFailed
)

// The store contract's query types, under their names in package store.
type (
	// AuditQuery is riscd.AuditQuery.
	AuditQuery = riscd.AuditQuery
	// GrantQuery is riscd.GrantQuery.
	GrantQuery = riscd.GrantQuery
	// InboxQuery is riscd.InboxQuery.
	InboxQuery = riscd.InboxQuery
	// Mark is riscd.Mark.
	Mark = riscd.Mark
	// FlowSweep is riscd.FlowSweep.
	FlowSweep = riscd.FlowSweep
)

var _ riscd.Tx = (*Tx)(nil)
var _ riscd.Store = (*DB)(nil)
