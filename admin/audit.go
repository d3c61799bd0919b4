package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
)

// auditView is an audit entry as the admin API shows it.
type auditView struct {
	ID          uint64    `json:"id"`
	At          time.Time `json:"at"`
	Transmitter string    `json:"transmitter,omitempty"`
	EventJTI    string    `json:"event_jti,omitempty"`
	EventType   string    `json:"event_type,omitempty"`
	Sub         string    `json:"sub,omitempty"`
	GrantIDs    []string  `json:"grant_ids"`
	Action      string    `json:"action"`
	Outcome     string    `json:"outcome,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	Actor       string    `json:"actor,omitempty"`
	DryRun      bool      `json:"dry_run"`
}

type AuditList struct {
	Entries    []auditView `json:"entries"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

func viewAudit(e riscd.AuditEntry) auditView {
	return auditView{
		ID: e.ID, At: e.At, Transmitter: e.Transmitter, EventJTI: e.EventJTI, EventType: e.EventType,
		Sub: e.Sub, GrantIDs: nonNil(e.GrantIDs), Action: e.Action, Outcome: e.Outcome, Detail: e.Detail,
		Actor: e.Actor, DryRun: e.DryRun,
	}
}

// AuditQuery reads the sub filter and the page of an audit list.
func AuditQuery(c echo.Context) (riscd.AuditQuery, error) {
	p, err := pageParams(c)
	if err != nil {
		return riscd.AuditQuery{}, err
	}
	q := riscd.AuditQuery{Cursor: p.cursor, Limit: p.limit}
	if q.Sub, err = QueryParam(c, "sub"); err != nil {
		return riscd.AuditQuery{}, err
	}
	return q, nil
}

// AuditPage is one page of the audit log, as views. Its sub filter may be
// a verified email (ResolveSub).
func (s *Service) AuditPage(ctx context.Context, q riscd.AuditQuery) (AuditList, error) {
	var err error
	if q.Sub, err = s.ResolveSub(ctx, q.Sub); err != nil {
		return AuditList{}, err
	}
	entries, next, err := s.store.ListAudit(ctx, q)
	if err != nil {
		return AuditList{}, err
	}
	out := AuditList{Entries: make([]auditView, len(entries)), NextCursor: next}
	for i, e := range entries {
		out.Entries[i] = viewAudit(e)
	}
	return out, nil
}

// listAudit is GET /admin/audit?sub=&cursor=&limit=.
func (s *Server) listAudit(c echo.Context) error {
	q, err := AuditQuery(c)
	if err != nil {
		return err
	}
	out, err := s.AuditPage(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
