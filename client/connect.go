package client

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"
)

// ConnectSession is a consent session riscd opened for an app user
// (POST /v1/connect): send the user's browser to URL before ExpiresAt;
// riscd sends it back to the returnTo given to Connect when done, and
// ConnectResult tells the outcome.
type ConnectSession struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ConnectResult is the outcome of a connect session (GET /v1/connect/{id}).
type ConnectResult struct {
	// Status is the session's state as riscd reports it (e.g. "pending"
	// until the user comes back).
	Status string `json:"status"`
	// AppUser is the app user the session was opened for.
	AppUser string `json:"app_user"`
	// Sub and Email name the Google account the user consented with, once
	// known.
	Sub   string `json:"sub"`
	Email string `json:"email"`
	// GrantID is the grant the consent created or updated.
	GrantID string `json:"grant_id"`
	// Scopes the grant holds and Features the user granted.
	Scopes   []string `json:"scopes"`
	Features []string `json:"features"`
	// Error is why the session failed (e.g. the user refused), if it did.
	Error string `json:"error"`
}

// connectRequest is POST /v1/connect's body.
type connectRequest struct {
	AppUser  string   `json:"app_user"`
	Features []string `json:"features"`
	ReturnTo string   `json:"return_to,omitempty"`
}

// Connect opens a consent session for the app's user appUser asking for
// features (names from riscd's google.features; none: all of them), whose
// browser riscd sends back to returnTo when done. Send the browser to the
// session's URL and keep its ID for ConnectResult. Once the user has
// consented, Sub, AppUser(appUser) and the grant serve tokens. The request
// body is {"app_user": appUser, "features": [...], "return_to": returnTo}
// (return_to left out when empty).
//
// Errors: an *APIError for riscd's refusal (400 for an unknown feature or
// a returnTo riscd does not accept); ctx's error or a transport error.
func (c *Client) Connect(ctx context.Context, appUser string, features []string, returnTo string) (ConnectSession, error) {
	if appUser == "" {
		return ConnectSession{}, errors.New("riscd client: connect: appUser is required")
	}
	if features == nil {
		features = []string{}
	}
	var s ConnectSession
	if err := c.call(ctx, "POST", "/v1/connect", connectRequest{AppUser: appUser, Features: slices.Clone(features), ReturnTo: returnTo}, &s); err != nil {
		return ConnectSession{}, err
	}
	if s.ID == "" || s.URL == "" {
		return ConnectSession{}, errors.New("riscd client: POST /v1/connect answered no id or url")
	}
	return s, nil
}

// ConnectResult reports the outcome of the connect session id.
//
// Errors: errors.Is(err, ErrNotFound) when riscd knows no such session (or
// no longer: sessions expire); an *APIError otherwise; ctx's error or a
// transport error.
func (c *Client) ConnectResult(ctx context.Context, id string) (ConnectResult, error) {
	if id == "" {
		return ConnectResult{}, errors.New("riscd client: connect result: id is required")
	}
	var r ConnectResult
	if err := c.call(ctx, "GET", "/v1/connect/"+url.PathEscape(id), nil, &r); err != nil {
		return ConnectResult{}, err
	}
	return r, nil
}
