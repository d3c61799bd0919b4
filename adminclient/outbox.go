package adminclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// OutboxJob is a pending upstream revocation ("revoke") or webhook
// ("webhook"); its token and payload are never shown.
type OutboxJob struct {
	ID            uint64     `json:"id"`
	Kind          string     `json:"kind"`
	Key           string     `json:"key,omitempty"`
	GrantID       string     `json:"grant_id,omitempty"`
	Status        string     `json:"status"`
	CreatedAt     time.Time  `json:"created_at"`
	AgeSeconds    float64    `json:"age_seconds"`
	Deadline      *time.Time `json:"deadline,omitempty"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// OutboxFilter selects pending jobs: of one kind ("revoke" or "webhook"),
// or all when Kind is "". Limit 0 means MaxLimit.
type OutboxFilter struct {
	Kind  string
	Limit int
}

// OutboxList is the pending jobs, oldest first. Truncated: more are pending
// than shown.
type OutboxList struct {
	Jobs      []OutboxJob `json:"jobs"`
	Truncated bool        `json:"truncated"`
}

// Outbox returns the pending outbox jobs (GET /admin/outbox).
func (c *Client) Outbox(ctx context.Context, f OutboxFilter) (OutboxList, error) {
	q := url.Values{}
	if f.Kind != "" {
		q.Set("kind", f.Kind)
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out OutboxList
	if err := c.do(ctx, http.MethodGet, "/admin/outbox", q, &out); err != nil {
		return OutboxList{}, err
	}
	return out, nil
}
