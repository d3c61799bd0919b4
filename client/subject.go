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
	// SessionsRevokedAt is the account's record of set_sessions_revoked_at;
	// EndSessionsBefore states the decision.
	SessionsRevokedAt *time.Time `json:"sessions_revoked_at"`
	// EndSessionsBefore: the app ends the user's sessions created at or
	// before it; nil for none.
	EndSessionsBefore *time.Time `json:"end_sessions_before,omitempty"`
	// SigninDisabled: Google disabled or deleted the account; every
	// session ends and the user must not sign in.
	SigninDisabled bool `json:"signin_disabled"`
	// Held: the account or one of its grants is held; every session ends
	// until the hold is released.
	Held                     bool           `json:"held"`
	Review                   bool           `json:"review"`
	ReconsentRequired        bool           `json:"reconsent_required"`
	CredentialChangeRequired bool           `json:"credential_change_required"`
	Purged                   bool           `json:"purged"`
	Grants                   []GrantSummary `json:"grants"`
}

// EndsSession reports whether the user's app session created at created
// must end: the package doc's rule on EndSessionsBefore, SigninDisabled
// and Held, the same as Event.EndsSession's.
func (s Subject) EndsSession(created time.Time) bool {
	return endsSession(s.EndSessionsBefore, s.SigninDisabled, s.Held, created)
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
