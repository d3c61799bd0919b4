package adminclient

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// AuditEntry is one recorded action: what riscd or an operator did, why and
// with what outcome.
type AuditEntry struct {
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
	Actor       string    `json:"actor,omitempty"` // event, operator, user, refresher
	DryRun      bool      `json:"dry_run"`
}

// AuditFilter selects audit entries: one subject's, or all when Sub is "".
type AuditFilter struct {
	Sub    string
	Cursor string
	Limit  int
}

// AuditPage is one page of the audit log, newest first. NextCursor is ""
// after the last page.
type AuditPage struct {
	Entries    []AuditEntry `json:"entries"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// ListAudit returns one page of the audit log (GET /admin/audit).
func (c *Client) ListAudit(ctx context.Context, f AuditFilter) (AuditPage, error) {
	q := url.Values{}
	if f.Sub != "" {
		q.Set("sub", f.Sub)
	}
	setPage(q, f.Cursor, f.Limit)
	var out AuditPage
	if err := c.do(ctx, http.MethodGet, "/admin/audit", q, &out); err != nil {
		return AuditPage{}, err
	}
	return out, nil
}

// AllAudit yields every audit entry f selects, from f.Cursor on. It stops
// after the first error, which it yields.
func (c *Client) AllAudit(ctx context.Context, f AuditFilter) iter.Seq2[AuditEntry, error] {
	return pages(ctx, f.Cursor, func(ctx context.Context, cursor string) ([]AuditEntry, string, error) {
		f.Cursor = cursor
		p, err := c.ListAudit(ctx, f)
		return p.Entries, p.NextCursor, err
	})
}
