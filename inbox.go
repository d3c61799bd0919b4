package riscd

import (
	"encoding/json"
	"time"
)

// InboxStatus is the processing state of a received SET.
type InboxStatus string

// Inbox states.
const (
	InboxPending InboxStatus = "pending"
	InboxDone    InboxStatus = "done"
	InboxParked  InboxStatus = "parked" // gave up after the configured attempts; an operator may retry
)

// InboxEntry is one verified security event token, committed before the
// receiver answers 202. (Iss, JTI) is unique.
type InboxEntry struct {
	ID          uint64 // arrival order, assigned by PutInbox
	Transmitter string
	Iss         string
	JTI         string
	Subject     string          // normalised subject key for per-subject ordering (e.g. "iss|sub")
	Types       []string        // event-type URIs in the SET
	Raw         string          // the compact JWS as received
	Claims      json.RawMessage // the verified payload (stored compacted)
	ReceivedAt  time.Time       // now if zero at PutInbox

	Status        InboxStatus
	Attempts      int // attempts made: the failed ones, and once done the one that succeeded
	LastError     string
	NextAttemptAt time.Time
	DoneAt        time.Time
}
