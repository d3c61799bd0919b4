package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd"
	"github.com/riscd/riscd/httplog"
)

// outboxView is an outbox job as the admin API shows it: never its token,
// never its payload (only the subject the payload names).
type outboxView struct {
	ID            uint64     `json:"id"`
	Kind          string     `json:"kind"`
	Key           string     `json:"key,omitempty"`
	Sub           string     `json:"sub,omitempty"`
	GrantID       string     `json:"grant_id,omitempty"`
	Status        string     `json:"status"`
	CreatedAt     time.Time  `json:"created_at"`
	AgeSeconds    float64    `json:"age_seconds"`
	Deadline      *time.Time `json:"deadline,omitempty"`
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	FailedAt      *time.Time `json:"failed_at,omitempty"`
}

type outboxList struct {
	Jobs []outboxView `json:"jobs"`
	// Truncated: more jobs of the status asked for exist than the limit
	// shows.
	Truncated bool `json:"truncated"`
}

// outboxQuery is what an outbox list asks for.
type outboxQuery struct {
	status riscd.OutboxStatus // pending (oldest first) or failed (newest first)
	kind   riscd.OutboxKind   // "" for any
	limit  int
}

// outboxParams reads the status (pending, the default, or failed), the
// kind filter ("", "revoke", "webhook") and the limit (1 to
// store.MaxLimit, default store.MaxLimit) of an outbox list.
func outboxParams(c echo.Context) (outboxQuery, error) {
	q := outboxQuery{status: riscd.OutboxPending, limit: riscd.MaxLimit}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > riscd.MaxLimit {
			return outboxQuery{}, BadRequest("limit must be a whole number from 1 to %d", riscd.MaxLimit)
		}
		q.limit = n
	}
	switch st := riscd.OutboxStatus(c.QueryParam("status")); st {
	case "", riscd.OutboxPending:
	case riscd.OutboxFailed:
		q.status = st
	default:
		return outboxQuery{}, BadRequest("status must be %s or %s", riscd.OutboxPending, riscd.OutboxFailed)
	}
	q.kind = riscd.OutboxKind(c.QueryParam("kind"))
	if q.kind != "" && q.kind != riscd.OutboxRevoke && q.kind != riscd.OutboxWebhook {
		return outboxQuery{}, BadRequest("kind must be %s or %s", riscd.OutboxRevoke, riscd.OutboxWebhook)
	}
	return q, nil
}

// outboxJobs lists up to q.limit jobs of q's status and kind: pending ones
// oldest first, failed ones newest first.
func (s *Server) outboxJobs(ctx context.Context, q outboxQuery) (outboxList, error) {
	// One job more than the limit tells whether there are more; the store
	// cannot filter by kind, so a kind filter looks through the largest page.
	fetch := min(q.limit+1, riscd.MaxLimit)
	if q.kind != "" {
		fetch = riscd.MaxLimit
	}
	list := s.store.PendingOutbox
	if q.status == riscd.OutboxFailed {
		list = s.store.FailedOutbox
	}
	jobs, err := list(ctx, fetch)
	if err != nil {
		return outboxList{}, err
	}
	now := s.now()
	out := outboxList{Jobs: []outboxView{}}
	for _, j := range jobs {
		if q.kind != "" && j.Kind != q.kind {
			continue
		}
		if len(out.Jobs) == q.limit {
			out.Truncated = true
			break
		}
		out.Jobs = append(out.Jobs, viewOutbox(j, now))
	}
	if fetch == riscd.MaxLimit && len(jobs) == fetch {
		out.Truncated = true // the store may hold more than one page
	}
	return out, nil
}

// viewOutbox is j as the admin API shows it at now.
func viewOutbox(j riscd.OutboxJob, now time.Time) outboxView {
	v := outboxView{
		ID: j.ID, Kind: string(j.Kind), Key: j.Key, Sub: payloadSub(j.Payload), GrantID: j.GrantID, Status: string(j.Status),
		CreatedAt: j.CreatedAt, AgeSeconds: now.Sub(j.CreatedAt).Seconds(), Deadline: optTime(j.Deadline),
		Attempts: j.Attempts, LastError: j.LastError, NextAttemptAt: optTime(j.NextAttemptAt),
	}
	if j.Status == riscd.OutboxFailed {
		v.FailedAt = optTime(j.DoneAt)
	}
	return v
}

// payloadSub is the subject a job's payload names (the lifecycle package
// writes it as "sub"), "" when it names none. The job's key is an ordering
// key, not a subject.
func payloadSub(payload json.RawMessage) string {
	var p struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return ""
	}
	return p.Sub
}

// listOutbox is GET /admin/outbox?status=&kind=&limit=: pending jobs,
// oldest first, with their age; or failed ones, newest first.
func (s *Server) listOutbox(c echo.Context) error {
	q, err := outboxParams(c)
	if err != nil {
		return err
	}
	out, err := s.outboxJobs(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// retryOutbox has the Operator return failed job id to pending (reason
// goes to the audit entry). Errors: errNoOperator without one, a 409
// Error (CodeNotFailed) when the job is pending or done, a 404 Error
// when there is none, else the Operator's failure.
func (s *Server) retryOutbox(ctx context.Context, id uint64, reason string) (riscd.OutboxJob, error) {
	if s.cfg.Operator == nil {
		return riscd.OutboxJob{}, errNoOperator
	}
	j, err := s.cfg.Operator.RetryOutboxJob(ctx, id, ActorOperator, reason)
	var state interface{ JobStatus() string }
	switch {
	case errors.As(err, &state):
		return riscd.OutboxJob{}, &Error{Status: http.StatusConflict, Code: CodeNotFailed,
			Detail: fmt.Sprintf("outbox job %d is %s; only a failed job can be retried", id, state.JobStatus())}
	case err != nil:
		return riscd.OutboxJob{}, orNotFound(err, "outbox job")
	}
	return j, nil
}

// retryOutboxJob is POST /admin/outbox/{id}/retry: a failed job goes back
// to pending (see retryOutbox) and is answered as it now stands.
func (s *Server) retryOutboxJob(c echo.Context) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	j, err := s.retryOutbox(c.Request().Context(), id, "request "+httplog.RequestID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOutbox(j, s.now()))
}
