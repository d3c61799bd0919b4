package admin

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riscd/riscd"
)

// grantView is a grant as the admin API shows it: never a token, only
// fingerprints of the refresh token.
type grantView struct {
	ID                       string   `json:"id"`
	Sub                      string   `json:"sub"`
	Email                    string   `json:"email,omitempty"`
	Scopes                   []string `json:"scopes"`
	Features                 []string `json:"features"`
	Status                   string   `json:"status"`
	Reason                   string   `json:"reason,omitempty"`
	ChangedBy                string   `json:"changed_by,omitempty"`
	RefreshTokenFingerprint  string   `json:"refresh_token_fingerprint,omitempty"`
	RefreshPrefixFingerprint string   `json:"refresh_prefix_fingerprint,omitempty"`
	HasRefreshToken          bool     `json:"has_refresh_token"`
	HasAccessToken           bool     `json:"has_access_token"`
	// ReconsentRequired: the grant is active but out of tokens (no
	// refresh token, access token expired); POST /v1/token answers
	// reconsent_required for it.
	ReconsentRequired bool       `json:"reconsent_required"`
	AccessTokenExpiry *time.Time `json:"access_token_expiry,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	LastUsedAt        *time.Time `json:"last_used_at,omitempty"`
	RefreshedAt       *time.Time `json:"refreshed_at,omitempty"`
}

// GrantDetail is GET /admin/grants/{id}: the grant and the audit entries
// that name it (the event or operator that changed it), newest first.
type GrantDetail struct {
	grantView
	History []auditView `json:"history"`
}

type GrantList struct {
	Grants     []grantView `json:"grants"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// grantStatuses are the values of the status filter.
var grantStatuses = []riscd.GrantStatus{riscd.GrantActive, riscd.GrantHeld, riscd.GrantRevoked, riscd.GrantReauthRequired}

// historyScan bounds how many of a subject's audit entries a grant's
// history looks through, and historyMax how many it shows.
const (
	historyScan = riscd.MaxLimit
	historyMax  = 50
)

func (s *Service) viewGrant(g riscd.Grant) grantView {
	return grantView{
		ID: g.ID, Sub: g.Sub, Email: g.Email, Scopes: nonNil(g.Scopes), Features: s.featuresOf(g.Scopes),
		Status: string(g.Status), Reason: g.Reason, ChangedBy: g.ChangedBy,
		RefreshTokenFingerprint:  refreshFingerprint(g.RefreshToken),
		RefreshPrefixFingerprint: prefixFingerprint(g.RefreshToken),
		HasRefreshToken:          g.HasRefreshToken(),
		HasAccessToken:           !g.AccessToken.IsZero(),
		ReconsentRequired:        g.OutOfTokens(s.now()),
		AccessTokenExpiry:        optTime(g.Expiry),
		CreatedAt:                g.CreatedAt, UpdatedAt: g.UpdatedAt,
		LastUsedAt: optTime(g.LastUsedAt), RefreshedAt: optTime(g.RefreshedAt),
	}
}

// featuresOf returns the names of the features whose scope is in scopes.
func (s *Service) featuresOf(scopes []string) []string {
	out := []string{}
	for _, name := range s.features {
		if slices.Contains(scopes, s.cfg.Features[name]) {
			out = append(out, name)
		}
	}
	return out
}

// GrantQuery reads the filters of a grant list (sub, status, feature,
// scope) and its page from the query string, as GET /admin/grants and the
// admin page's grant list take them.
func (s *Service) GrantQuery(c echo.Context) (riscd.GrantQuery, error) {
	p, err := pageParams(c)
	if err != nil {
		return riscd.GrantQuery{}, err
	}
	q := riscd.GrantQuery{Cursor: p.cursor, Limit: p.limit}
	if q.Sub, err = QueryParam(c, "sub"); err != nil {
		return riscd.GrantQuery{}, err
	}
	if q.Sub, err = s.ResolveSub(c.Request().Context(), q.Sub); err != nil {
		return riscd.GrantQuery{}, err
	}
	if st := c.QueryParam("status"); st != "" {
		if !slices.Contains(grantStatuses, riscd.GrantStatus(st)) {
			return riscd.GrantQuery{}, BadRequest("status must be one of %s", joinStatuses(grantStatuses))
		}
		q.Status = riscd.GrantStatus(st)
	}
	if q.Scope, err = QueryParam(c, "scope"); err != nil {
		return riscd.GrantQuery{}, err
	}
	if f := c.QueryParam("feature"); f != "" {
		scope, ok := s.cfg.Features[f]
		if !ok {
			return riscd.GrantQuery{}, BadRequest("feature must be one of: %s", strings.Join(s.features, ", "))
		}
		if q.Scope != "" && q.Scope != scope {
			return riscd.GrantQuery{}, BadRequest("feature %s needs scope %s, which contradicts the scope filter", f, scope)
		}
		q.Scope = scope
	}
	return q, nil
}

// GrantPage is one page of grants, as views.
func (s *Service) GrantPage(ctx context.Context, q riscd.GrantQuery) (GrantList, error) {
	grants, next, err := s.store.ListGrants(ctx, q)
	if err != nil {
		return GrantList{}, err
	}
	out := GrantList{Grants: make([]grantView, len(grants)), NextCursor: next}
	for i, g := range grants {
		out.Grants[i] = s.viewGrant(g)
	}
	return out, nil
}

// listGrants is GET /admin/grants?sub=&status=&feature=&scope=&cursor=&limit=.
func (s *Server) listGrants(c echo.Context) error {
	q, err := s.GrantQuery(c)
	if err != nil {
		return err
	}
	out, err := s.GrantPage(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// GrantOf reads grant id and the audit entries that name it. A
// missing grant is a 404 Error.
func (s *Service) GrantOf(ctx context.Context, id string) (GrantDetail, error) {
	g, err := s.store.Grant(ctx, id)
	if err != nil {
		return GrantDetail{}, OrNotFound(err, "grant")
	}
	entries, _, err := s.store.ListAudit(ctx, riscd.AuditQuery{Sub: g.Sub, Limit: historyScan})
	if err != nil {
		return GrantDetail{}, err
	}
	out := GrantDetail{grantView: s.viewGrant(g), History: []auditView{}}
	for _, e := range entries {
		if slices.Contains(e.GrantIDs, g.ID) && len(out.History) < historyMax {
			out.History = append(out.History, viewAudit(e))
		}
	}
	return out, nil
}

// showGrant is GET /admin/grants/{id}.
func (s *Server) showGrant(c echo.Context) error {
	id, err := PathParam(c, "id")
	if err != nil {
		return err
	}
	out, err := s.GrantOf(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// Revoke has the Operator discard grant id and queue its upstream
// revocation. Errors: errNoOperator without one, a 404 Error for an
// unknown grant, else the Operator's failure.
func (s *Service) Revoke(ctx context.Context, id string) error {
	if s.cfg.Operator == nil {
		return errNoOperator
	}
	if err := s.cfg.Operator.DiscardGrant(ctx, id, ActorOf(ctx)); err != nil {
		return OrNotFound(err, "grant")
	}
	return nil
}

// revokeGrant is DELETE /admin/grants/{id}: the Operator discards the grant
// and queues its upstream revocation; the answer is 202 because Google
// hears of it later, from the outbox.
func (s *Server) revokeGrant(c echo.Context) error {
	if s.cfg.Operator == nil {
		return errNoOperator
	}
	id, err := PathParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.Revoke(c.Request().Context(), id); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": id, "status": "revoked", "upstream_revocation": "queued"})
}

var errNoOperator = &Error{
	Status: http.StatusNotImplemented, Code: CodeNotImplemented,
	Detail: "operator actions are not available in this riscd",
}

// OrNotFound turns riscd.ErrNotFound into a 404 naming what was missing;
// other errors pass.
func OrNotFound(err error, what string) error {
	if isNotFound(err) {
		return NotFound(what)
	}
	return err
}

func joinStatuses[T ~string](ss []T) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
