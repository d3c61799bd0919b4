package adminclient

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// GrantStatus is a grant's state.
type GrantStatus string

// Grant states.
const (
	GrantActive         GrantStatus = "active"
	GrantHeld           GrantStatus = "held"
	GrantRevoked        GrantStatus = "revoked"
	GrantReauthRequired GrantStatus = "reauth_required"
)

// GrantStatuses returns every grant state, in the API's order (a new slice).
func GrantStatuses() []GrantStatus {
	return []GrantStatus{GrantActive, GrantHeld, GrantRevoked, GrantReauthRequired}
}

// Grant is a grant as the admin API shows it: no token, only short
// fingerprints of the refresh token.
type Grant struct {
	ID        string      `json:"id"`
	Sub       string      `json:"sub"`
	Email     string      `json:"email,omitempty"`
	Scopes    []string    `json:"scopes"`
	Features  []string    `json:"features"` // configured features whose scope the grant holds
	Status    GrantStatus `json:"status"`
	Reason    string      `json:"reason,omitempty"`     // why the status last changed
	ChangedBy string      `json:"changed_by,omitempty"` // an event jti, operator, user, refresh
	// RefreshTokenFingerprint equals the token_fingerprint of a
	// token-revoked event naming the refresh token by hash.
	RefreshTokenFingerprint string `json:"refresh_token_fingerprint,omitempty"`
	// RefreshPrefixFingerprint equals the token_fingerprint of a
	// token-revoked event naming the refresh token by prefix.
	RefreshPrefixFingerprint string `json:"refresh_prefix_fingerprint,omitempty"`
	// HasRefreshToken is false when riscd holds no refresh token.
	HasRefreshToken bool `json:"has_refresh_token"`
	HasAccessToken  bool `json:"has_access_token"`
	// ReconsentRequired: active but out of tokens (no refresh token, the
	// access token expired); POST /v1/token answers reconsent_required.
	ReconsentRequired bool       `json:"reconsent_required"`
	AccessTokenExpiry *time.Time `json:"access_token_expiry,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	LastUsedAt        *time.Time `json:"last_used_at,omitempty"`
	RefreshedAt       *time.Time `json:"refreshed_at,omitempty"`
}

// GrantDetail is one grant with the audit entries that name it, newest
// first (at most 50).
type GrantDetail struct {
	Grant
	History []AuditEntry `json:"history"`
}

// GrantFilter selects grants; zero fields select all. Cursor is a previous
// page's NextCursor; Limit is the page size (0: the API's default, 100; at
// most MaxLimit).
type GrantFilter struct {
	Sub     string
	Status  GrantStatus
	Feature string // a configured feature's name
	Scope   string
	Cursor  string
	Limit   int
}

// GrantPage is one page of grants, newest first. NextCursor is "" after
// the last page.
type GrantPage struct {
	Grants     []Grant `json:"grants"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// Revocation is the answer to RevokeGrant: the grant is discarded and its
// upstream revocation queued in the outbox.
type Revocation struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`              // "revoked"
	UpstreamRevocation string `json:"upstream_revocation"` // "queued"
}

// ListGrants returns one page of the grants f selects (GET /admin/grants).
// An unknown feature or a malformed cursor is an *APIError matching
// ErrBadRequest.
func (c *Client) ListGrants(ctx context.Context, f GrantFilter) (GrantPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"sub": f.Sub, "status": string(f.Status), "feature": f.Feature, "scope": f.Scope} {
		if v != "" {
			q.Set(k, v)
		}
	}
	setPage(q, f.Cursor, f.Limit)
	var out GrantPage
	if err := c.do(ctx, http.MethodGet, "/admin/grants", q, &out); err != nil {
		return GrantPage{}, err
	}
	return out, nil
}

// AllGrants yields every grant f selects, from f.Cursor on, fetching pages
// of f.Limit as it goes. It stops after the first error, which it yields.
func (c *Client) AllGrants(ctx context.Context, f GrantFilter) iter.Seq2[Grant, error] {
	return pages(ctx, f.Cursor, func(ctx context.Context, cursor string) ([]Grant, string, error) {
		f.Cursor = cursor
		p, err := c.ListGrants(ctx, f)
		return p.Grants, p.NextCursor, err
	})
}

// Grant returns grant id with its history (GET /admin/grants/{id}). A
// grant riscd does not hold is an *APIError matching ErrNotFound.
func (c *Client) Grant(ctx context.Context, id string) (GrantDetail, error) {
	if id == "" {
		return GrantDetail{}, fmt.Errorf("grant: %w: empty grant id", ErrInvalidArgument)
	}
	var out GrantDetail
	if err := c.do(ctx, http.MethodGet, "/admin/grants/"+url.PathEscape(id), nil, &out); err != nil {
		return GrantDetail{}, err
	}
	return out, nil
}

// RevokeGrant discards grant id's tokens and queues their revocation at
// Google (DELETE /admin/grants/{id}); it does not wait for Google. Errors:
// ErrNotFound for an unknown grant, ErrNotImplemented when the running
// riscd has no operator actions (both *APIError).
func (c *Client) RevokeGrant(ctx context.Context, id string) (Revocation, error) {
	if id == "" {
		return Revocation{}, fmt.Errorf("revoke grant: %w: empty grant id", ErrInvalidArgument)
	}
	var out Revocation
	if err := c.do(ctx, http.MethodDelete, "/admin/grants/"+url.PathEscape(id), nil, &out); err != nil {
		return Revocation{}, err
	}
	return out, nil
}
