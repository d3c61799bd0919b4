package adminclient

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// AccountState is what riscd decided about a subject's account.
type AccountState struct {
	Sub string `json:"sub"`
	// SessionsRevokedAt: apps end their sessions of the subject created
	// before it; nil when never set.
	SessionsRevokedAt        *time.Time `json:"sessions_revoked_at"`
	SigninDisabled           bool       `json:"signin_disabled"`
	Held                     bool       `json:"held"`
	Review                   bool       `json:"review"`
	ReconsentRequired        bool       `json:"reconsent_required"`
	CredentialChangeRequired bool       `json:"credential_change_required"`
	Purged                   bool       `json:"purged"`
}

// Account is a subject's state, grants (newest first) and timeline of
// received events and actions taken (newest first, at most 100).
type Account struct {
	AccountState
	Known     bool           `json:"known"` // riscd holds an account record, not only grants
	Email     string         `json:"email,omitempty"`
	Flags     []string       `json:"flags"`
	CreatedAt *time.Time     `json:"created_at,omitempty"`
	UpdatedAt *time.Time     `json:"updated_at,omitempty"`
	Grants    []Grant        `json:"grants"`
	Timeline  []TimelineItem `json:"timeline"`
}

// TimelineItem is one received event (Kind "event", Event set) or one
// recorded action (Kind "action", Action set).
type TimelineItem struct {
	At     time.Time     `json:"at"`
	Kind   string        `json:"kind"`
	Event  *EventSummary `json:"event,omitempty"`
	Action *AuditEntry   `json:"action,omitempty"`
}

// EventSummary is an event in a timeline; Client.Event has the rest.
type EventSummary struct {
	ID          uint64      `json:"id"`
	Transmitter string      `json:"transmitter"`
	JTI         string      `json:"jti"`
	TypeNames   []string    `json:"type_names"`
	Status      EventStatus `json:"status"`
	Attempts    int         `json:"attempts"`
	LastError   string      `json:"last_error,omitempty"`
}

// Subject is the answer to ReleaseAccount: the state afterwards and a
// summary of the subject's grants.
type Subject struct {
	AccountState
	// EndSessionsBefore: the app ends its sessions of this account created
	// at or before it (see the companion API's session rule).
	EndSessionsBefore *time.Time     `json:"end_sessions_before,omitempty"`
	Grants            []GrantSummary `json:"grants"`
}

// GrantSummary is a grant in a Subject.
// Status is "reconsent_required" (reason "no refresh token") for an active
// grant out of tokens, as POST /v1/token answers for it.
type GrantSummary struct {
	ID     string      `json:"id"`
	Scopes []string    `json:"scopes"`
	Status GrantStatus `json:"status"`
	Reason string      `json:"reason,omitempty"`
	// HasRefreshToken is false when the provider issued no refresh token;
	// AccessTokenExpiry is then when the grant stops serving.
	HasRefreshToken   bool       `json:"has_refresh_token"`
	AccessTokenExpiry *time.Time `json:"access_token_expiry,omitempty"`
}

// Account returns subject sub's account (GET /admin/accounts/{sub}). A
// subject riscd knows nothing of is an *APIError matching ErrNotFound.
func (c *Client) Account(ctx context.Context, sub string) (Account, error) {
	if sub == "" {
		return Account{}, fmt.Errorf("account: %w: empty subject", ErrInvalidArgument)
	}
	var out Account
	if err := c.do(ctx, http.MethodGet, "/admin/accounts/"+url.PathEscape(sub), nil, &out); err != nil {
		return Account{}, err
	}
	return out, nil
}

// ReleaseAccount lifts a hold on subject sub (POST
// /admin/accounts/{sub}/release): the account is no longer held and its
// held grants become active; revoked grants stay revoked. Releasing an
// account that is not held changes nothing.
// Errors: ErrNotFound for an unknown subject, ErrNotImplemented when the
// running riscd has no operator actions (both *APIError).
func (c *Client) ReleaseAccount(ctx context.Context, sub string) (Subject, error) {
	if sub == "" {
		return Subject{}, fmt.Errorf("release account: %w: empty subject", ErrInvalidArgument)
	}
	var out Subject
	if err := c.do(ctx, http.MethodPost, "/admin/accounts/"+url.PathEscape(sub)+"/release", nil, &out); err != nil {
		return Subject{}, err
	}
	return out, nil
}
