package adminclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// OutboxJob is an upstream revocation ("revoke") or webhook ("webhook")
// riscd does after the change that queued it; its token and payload are
// never shown.
type OutboxJob struct {
	ID            uint64     `json:"id"`
	Kind          string     `json:"kind"`
	Key           string     `json:"key,omitempty"`        // ordering key: a key's jobs run one at a time, in order
	Sub           string     `json:"sub,omitempty"`        // the subject the job is about, when it names one
	Email         string     `json:"email,omitempty"`      // the subject's email: a display hint
	EventType     string     `json:"event_type,omitempty"` // the short name (or URI) of the event the job is about
	GrantID       string     `json:"grant_id,omitempty"`
	Status        string     `json:"status"` // OutboxPending, OutboxDone or OutboxFailed
	CreatedAt     time.Time  `json:"created_at"`
	AgeSeconds    float64    `json:"age_seconds"`
	Deadline      *time.Time `json:"deadline,omitempty"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	FailedAt      *time.Time `json:"failed_at,omitempty"` // when riscd gave up on a failed job
}

// Outbox job states.
const (
	OutboxPending = "pending" // being tried
	OutboxDone    = "done"
	OutboxFailed  = "failed" // given up on (deadline passed or refused for good); RetryOutboxJob starts it over
)

// OutboxFilter selects jobs: pending ones (Status "" or OutboxPending),
// oldest first, or failed ones (OutboxFailed), newest first; of one kind
// ("revoke" or "webhook"), or all when Kind is "". Limit 0 means MaxLimit.
type OutboxFilter struct {
	Status string
	Kind   string
	Limit  int
}

// OutboxList is the jobs the filter selects. Truncated: there are more
// than shown.
type OutboxList struct {
	Jobs      []OutboxJob `json:"jobs"`
	Truncated bool        `json:"truncated"`
}

// Outbox returns the pending or failed outbox jobs (GET /admin/outbox).
func (c *Client) Outbox(ctx context.Context, f OutboxFilter) (OutboxList, error) {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
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

// RetryOutboxJob starts failed outbox job id over with a fresh budget of
// attempts and time, or has riscd try pending job id now, keeping its
// attempts (POST /admin/outbox/{id}/retry), and returns it as stored
// afterwards (pending). Errors: ErrNotFailed when the job is done,
// ErrNotFound for an unknown id, ErrNotImplemented when the riscd has no
// operator actions (all *APIError).
func (c *Client) RetryOutboxJob(ctx context.Context, id uint64) (OutboxJob, error) {
	if id == 0 {
		return OutboxJob{}, fmt.Errorf("retry outbox job: %w: job ids start at 1", ErrInvalidArgument)
	}
	var out OutboxJob
	if err := c.do(ctx, http.MethodPost, "/admin/outbox/"+strconv.FormatUint(id, 10)+"/retry", nil, &out); err != nil {
		return OutboxJob{}, err
	}
	return out, nil
}
