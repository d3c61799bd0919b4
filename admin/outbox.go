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
	"github.com/riscd/riscd/events"
	"github.com/riscd/riscd/httplog"
)

// outboxView is an outbox job as the admin API shows it: never its token,
// never its payload (only the subject the payload names).
type outboxView struct {
	ID            uint64     `json:"id"`
	Kind          string     `json:"kind"`
	Key           string     `json:"key,omitempty"`
	Sub           string     `json:"sub,omitempty"`
	Email         string     `json:"email,omitempty"`      // the subject's, as its account or grant knows it: a display hint
	EventType     string     `json:"event_type,omitempty"` // the type of the event the job is about: its short name, or its URI when riscd has none
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

type OutboxList struct {
	Jobs []outboxView `json:"jobs"`
	// Truncated: more jobs of the status asked for exist than the limit
	// shows.
	Truncated bool `json:"truncated"`
}

// OutboxQuery is what an outbox list asks for.
type OutboxQuery struct {
	Status riscd.OutboxStatus // pending (oldest first) or failed (newest first)
	Kind   riscd.OutboxKind   // "" for any
	Limit  int
}

// OutboxParams reads the status (pending, the default, or failed), the
// kind filter ("", "revoke", "webhook") and the limit (1 to
// store.MaxLimit, default store.MaxLimit) of an outbox list.
func OutboxParams(c echo.Context) (OutboxQuery, error) {
	q := OutboxQuery{Status: riscd.OutboxPending, Limit: riscd.MaxLimit}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > riscd.MaxLimit {
			return OutboxQuery{}, BadRequest("limit must be a whole number from 1 to %d", riscd.MaxLimit)
		}
		q.Limit = n
	}
	switch st := riscd.OutboxStatus(c.QueryParam("status")); st {
	case "", riscd.OutboxPending:
	case riscd.OutboxFailed:
		q.Status = st
	default:
		return OutboxQuery{}, BadRequest("status must be %s or %s", riscd.OutboxPending, riscd.OutboxFailed)
	}
	q.Kind = riscd.OutboxKind(c.QueryParam("kind"))
	if q.Kind != "" && q.Kind != riscd.OutboxRevoke && q.Kind != riscd.OutboxWebhook {
		return OutboxQuery{}, BadRequest("kind must be %s or %s", riscd.OutboxRevoke, riscd.OutboxWebhook)
	}
	return q, nil
}

// OutboxJobs lists up to q.Limit jobs of q's status and kind: pending ones
// oldest first, failed ones newest first.
func (s *Service) OutboxJobs(ctx context.Context, q OutboxQuery) (OutboxList, error) {
	// One job more than the limit tells whether there are more; the store
	// cannot filter by kind, so a kind filter looks through the largest page.
	fetch := min(q.Limit+1, riscd.MaxLimit)
	if q.Kind != "" {
		fetch = riscd.MaxLimit
	}
	list := s.store.PendingOutbox
	if q.Status == riscd.OutboxFailed {
		list = s.store.FailedOutbox
	}
	jobs, err := list(ctx, fetch)
	if err != nil {
		return OutboxList{}, err
	}
	now := s.now()
	out := OutboxList{Jobs: []outboxView{}}
	for _, j := range jobs {
		if q.Kind != "" && j.Kind != q.Kind {
			continue
		}
		if len(out.Jobs) == q.Limit {
			out.Truncated = true
			break
		}
		out.Jobs = append(out.Jobs, viewOutbox(j, now))
	}
	if fetch == riscd.MaxLimit && len(jobs) == fetch {
		out.Truncated = true // the store may hold more than one page
	}
	if err := s.addEmails(ctx, out.Jobs); err != nil {
		return OutboxList{}, err
	}
	return out, nil
}

// addEmails fills in each job's subject's email: its account's, else its
// grant's. A subject or grant riscd no longer holds leaves it empty.
func (s *Service) addEmails(ctx context.Context, jobs []outboxView) error {
	bySub := map[string]string{}
	for i, j := range jobs {
		if email, ok := bySub[j.Sub]; ok && j.Sub != "" {
			jobs[i].Email = email
			continue
		}
		if j.Sub != "" {
			a, err := s.store.Account(ctx, j.Sub)
			if err != nil && !isNotFound(err) {
				return err
			}
			jobs[i].Email = a.Email
		}
		if jobs[i].Email == "" && j.GrantID != "" {
			g, err := s.store.Grant(ctx, j.GrantID)
			if err != nil && !isNotFound(err) {
				return err
			}
			jobs[i].Email = g.Email
		}
		if j.Sub != "" {
			bySub[j.Sub] = jobs[i].Email
		}
	}
	return nil
}

// viewOutbox is j as the admin API shows it at now.
func viewOutbox(j riscd.OutboxJob, now time.Time) outboxView {
	v := outboxView{
		ID: j.ID, Kind: string(j.Kind), Key: j.Key, GrantID: j.GrantID, Status: string(j.Status),
		CreatedAt: j.CreatedAt, AgeSeconds: now.Sub(j.CreatedAt).Seconds(), Deadline: optTime(j.Deadline),
		Attempts: j.Attempts, LastError: j.LastError, NextAttemptAt: optTime(j.NextAttemptAt),
	}
	v.Sub, v.EventType = payloadAbout(j.Payload)
	if j.Status == riscd.OutboxFailed {
		v.FailedAt = optTime(j.DoneAt)
	}
	return v
}

// payloadAbout is the subject and the event type a job's payload names (the
// lifecycle package writes them as "sub" and "event_type"), "" for what it
// does not name. The job's key is an ordering key, not a subject.
func payloadAbout(payload json.RawMessage) (sub, eventType string) {
	var p struct {
		Sub       string `json:"sub"`
		EventType string `json:"event_type"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return "", ""
	}
	if p.EventType != "" {
		p.EventType = events.ShortName(p.EventType)
	}
	return p.Sub, p.EventType
}

// listOutbox is GET /admin/outbox?status=&kind=&limit=: pending jobs,
// oldest first, with their age; or failed ones, newest first.
func (s *Server) listOutbox(c echo.Context) error {
	q, err := OutboxParams(c)
	if err != nil {
		return err
	}
	out, err := s.OutboxJobs(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// RetryOutbox has the Operator return failed job id to pending, or make
// pending job id due now (reason goes to the audit entry). Errors:
// errNoOperator without one, a 409 Error (CodeNotFailed) when the job is
// done, a 404 Error when there is none, else the Operator's failure.
func (s *Service) RetryOutbox(ctx context.Context, id uint64, reason string) (riscd.OutboxJob, error) {
	if s.cfg.Operator == nil {
		return riscd.OutboxJob{}, errNoOperator
	}
	j, err := s.cfg.Operator.RetryOutboxJob(ctx, id, ActorOf(ctx), reason)
	var state interface{ JobStatus() string }
	switch {
	case errors.As(err, &state):
		return riscd.OutboxJob{}, &Error{Status: http.StatusConflict, Code: CodeNotFailed,
			Detail: fmt.Sprintf("outbox job %d is %s; only a failed or pending job can be retried", id, state.JobStatus())}
	case err != nil:
		return riscd.OutboxJob{}, OrNotFound(err, "outbox job")
	}
	return j, nil
}

// retryOutboxJob is POST /admin/outbox/{id}/retry: a failed job goes back
// to pending, a pending one is due now (see RetryOutbox); it is answered as
// it now stands.
func (s *Server) retryOutboxJob(c echo.Context) error {
	id, err := IDParam(c, "id")
	if err != nil {
		return err
	}
	j, err := s.RetryOutbox(c.Request().Context(), id, "request "+httplog.RequestID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOutbox(j, s.now()))
}
