package client

import (
	"context"
	"errors"
	"net/url"
	"time"
)

// Subject is a Google account's state in riscd (GET /v1/subjects/{sub}).
type Subject struct {
	Sub string `json:"sub"`
	// SessionsRevokedAt: the app ends the user's sessions created before it.
	SessionsRevokedAt *time.Time `json:"sessions_revoked_at"`
	// SigninDisabled: Google disabled the account; the user must not sign in.
	SigninDisabled bool `json:"signin_disabled"`
	// Held: the account's grants are held after an account event.
	Held                     bool           `json:"held"`
	Review                   bool           `json:"review"`
	ReconsentRequired        bool           `json:"reconsent_required"`
	CredentialChangeRequired bool           `json:"credential_change_required"`
	Purged                   bool           `json:"purged"`
	Grants                   []GrantSummary `json:"grants"`
}

// GrantSummary is a grant in a Subject, never its tokens.
type GrantSummary struct {
	ID     string   `json:"id"`
	Scopes []string `json:"scopes"`
	// Status is "active" or one of the State* constants.
	Status          string `json:"status"`
	Reason          string `json:"reason,omitempty"`
	HasRefreshToken bool   `json:"has_refresh_token"`
	// AccessTokenExpiry is set for an active grant without a refresh token.
	AccessTokenExpiry *time.Time `json:"access_token_expiry,omitempty"`
}

// Subject returns the state riscd holds for the Google subject sub.
//
// Errors: errors.Is(err, ErrNotFound) when riscd has never seen sub; an
// *APIError for any other refusal; ctx's error or a transport error.
func (c *Client) Subject(ctx context.Context, sub string) (Subject, error) {
	if sub == "" {
		return Subject{}, errors.New("riscd client: subject: sub is required")
	}
	var s Subject
	if err := c.call(ctx, "GET", "/v1/subjects/"+url.PathEscape(sub), nil, &s); err != nil {
		return Subject{}, err
	}
	return s, nil
}
