package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/riscd/riscd/store"
)

// outboxView is a pending outbox job as the admin API shows it: never its
// token, never its payload.
type outboxView struct {
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

type outboxList struct {
	Jobs []outboxView `json:"jobs"`
	// Truncated: more jobs are pending than the limit shows.
	Truncated bool `json:"truncated"`
}

// outboxParams reads the kind filter ("", "revoke", "webhook") and the
// limit (1 to store.MaxLimit, default store.MaxLimit) of an outbox list.
func outboxParams(c echo.Context) (store.OutboxKind, int, error) {
	limit := store.MaxLimit
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLimit {
			return "", 0, badRequest("limit must be a whole number from 1 to %d", store.MaxLimit)
		}
		limit = n
	}
	kind := store.OutboxKind(c.QueryParam("kind"))
	if kind != "" && kind != store.OutboxRevoke && kind != store.OutboxWebhook {
		return "", 0, badRequest("kind must be %s or %s", store.OutboxRevoke, store.OutboxWebhook)
	}
	return kind, limit, nil
}

// outboxJobs lists up to limit pending jobs of kind ("" for any), oldest
// first, with their age.
func (s *Server) outboxJobs(ctx context.Context, kind store.OutboxKind, limit int) (outboxList, error) {
	// One job more than the limit tells whether more are pending; the store
	// cannot filter by kind, so a kind filter looks through the largest page.
	fetch := min(limit+1, store.MaxLimit)
	if kind != "" {
		fetch = store.MaxLimit
	}
	jobs, err := s.store.PendingOutbox(ctx, fetch)
	if err != nil {
		return outboxList{}, err
	}
	now := s.now()
	out := outboxList{Jobs: []outboxView{}}
	for _, j := range jobs {
		if kind != "" && j.Kind != kind {
			continue
		}
		if len(out.Jobs) == limit {
			out.Truncated = true
			break
		}
		out.Jobs = append(out.Jobs, outboxView{
			ID: j.ID, Kind: string(j.Kind), Key: j.Key, GrantID: j.GrantID, Status: string(j.Status),
			CreatedAt: j.CreatedAt, AgeSeconds: now.Sub(j.CreatedAt).Seconds(), Deadline: optTime(j.Deadline),
			Attempts: j.Attempts, LastError: j.LastError, NextAttemptAt: optTime(j.NextAttemptAt),
		})
	}
	if fetch == store.MaxLimit && len(jobs) == fetch {
		out.Truncated = true // the store may hold more than one page
	}
	return out, nil
}

// listOutbox is GET /admin/outbox?kind=&limit=: pending jobs, oldest first,
// with their age.
func (s *Server) listOutbox(c echo.Context) error {
	kind, limit, err := outboxParams(c)
	if err != nil {
		return err
	}
	out, err := s.outboxJobs(c.Request().Context(), kind, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
