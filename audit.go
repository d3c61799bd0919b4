package riscd

import (
	"time"
)

// AuditEntry records one action taken (or, in dry-run, that would have been
// taken) and its outcome.
type AuditEntry struct {
	ID          uint64 // assigned by AppendAudit; increasing
	At          time.Time
	Transmitter string
	EventJTI    string
	EventType   string
	Sub         string
	GrantIDs    []string
	Action      string
	Outcome     string
	Detail      string
	Actor       string // "event", "operator", "user", "refresher"
	DryRun      bool
}
